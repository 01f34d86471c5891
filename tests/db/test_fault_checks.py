"""The scenarios' final check (``faults.checks.verify``) catches each broken promise it counts: goals
with a real journal (the transitions goaltrack applies), then one planted fault at a time."""

from __future__ import annotations

import uuid

import pytest

import faults.executors  # noqa: F401  (registers faults.effect, whose goals these are)
from faults.checks import verify
from faults.models import Effect
from goals.lifecycle.states import START, SUCCEED
from goals.lifecycle.transitions import apply_transition
from goals.models import Cause, Goal
from goals.submitting.submit import goal_submit

pytestmark = pytest.mark.django_db


def succeeded_goal(run: str, *, effects: int = 1) -> Goal:
    goal, _ = goal_submit(kind="faults.effect", params={"run": run})
    apply_transition(START, goal_id=goal.id, attempt=1, cause=Cause.EXECUTOR)
    for made in [True] * min(effects, 1) + [False] * max(effects - 1, 0):
        Effect.objects.create(goal_id=goal.id, effect="write", attempt=1, pid=1, made=made)
    apply_transition(SUCCEED, goal_id=goal.id, attempt=1, cause=Cause.EXECUTOR)
    return Goal.objects.get(pk=goal.id)


def run_id() -> str:
    return f"check-{uuid.uuid4().hex[:8]}"


def test_a_run_that_kept_its_promises_has_no_problem():
    run = run_id()
    succeeded_goal(run)
    succeeded_goal(run)
    verdict = verify(run)
    assert (verdict.goals, verdict.terminal, verdict.succeeded, verdict.runs) == (2, 2, 2, 2)
    assert verdict.problems(expected_goals=2) == []


def test_a_goal_missing_from_the_database_is_counted():
    run = run_id()
    succeeded_goal(run)
    assert verify(run).problems(expected_goals=2) == ["1 goals recorded of 2 submitted"]


def test_an_effect_made_twice_is_a_double_effect():
    run = run_id()
    goal = succeeded_goal(run)
    Effect.objects.create(goal_id=goal.id, effect="write", attempt=2, pid=1, made=True)
    assert verify(run).double_effects == 1


def test_succeeded_without_its_effect_is_a_lie():
    run = run_id()
    succeeded_goal(run, effects=0)
    assert verify(run).succeeded_without_effect == 1


def test_an_attempt_that_ran_twice_is_counted():
    run = run_id()
    goal = succeeded_goal(run)
    Effect.objects.create(goal_id=goal.id, effect="write", attempt=1, pid=2, made=False)
    verdict = verify(run)
    assert (verdict.attempt_ran_twice, verdict.double_effects) == (1, 0)


def test_a_goal_still_active_is_not_terminal():
    run = run_id()
    goal_submit(kind="faults.effect", params={"run": run})
    verdict = verify(run)
    assert (verdict.not_terminal, verdict.journal_violations) == (1, 0)


def test_a_row_changed_behind_the_journal_is_a_violation():
    run = run_id()
    goal = succeeded_goal(run)
    Goal.objects.filter(pk=goal.id).update(state="running", finished_at=None, final_state=None)
    verdict = verify(run)
    assert (verdict.journal_violations, verdict.not_terminal) == (1, 1)


def test_attempts_beyond_the_maximum_are_counted():
    run = run_id()
    goal = succeeded_goal(run)
    Goal.objects.filter(pk=goal.id).update(max_attempts=0)
    assert verify(run).over_max_attempts == 1
