"""The transition service on real PostgreSQL: every pair of states, fencing, journal, query counts."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime

import pytest

from goals.exceptions import GoalNotFound, TransitionNotAllowed
from goals.lifecycle.states import TRANSITIONS, GoalState, allowed_pairs
from goals.lifecycle.transitions import GoalMove, apply_transition, apply_transitions
from goals.models import AttemptOutcome, EventType, Goal
from tests.factories import make_goal

pytestmark = pytest.mark.django_db

# hold and admit have statements of their own, which count slots (start_attempt, admit_held_goals): the
# pairs they make are walked in tests/db/test_concurrency_limits.py, where a limit is in force.
OWN_SLOT_STATEMENTS = {TRANSITIONS["hold"], TRANSITIONS["admit"]}
ALL_PAIRS = [(source, target) for source, target in itertools.product(GoalState, GoalState)
             if target != GoalState.HELD]


START_TIME = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)


def _apply(transition, goal, **kwargs):
    if transition.new_attempt:
        kwargs.setdefault("new_task_id", str(uuid.uuid4()))
    if transition.sets_start:
        kwargs.setdefault("run_after", START_TIME)
    if transition.awaits_event:
        kwargs.setdefault("wait_event", "tests.event")
    return apply_transition(transition, goal_id=goal.id, attempt=goal.attempt, cause="api", actor="tester",
                            **kwargs)


@pytest.mark.parametrize(("source", "target"), ALL_PAIRS, ids=[f"{s}->{t}" for s, t in ALL_PAIRS])
def test_every_ordered_pair_of_states(source, target):
    """Each transition into ``target`` succeeds from ``source`` iff the table allows it; otherwise it is
    refused with a precise exception and the row, its attempts and its journal are untouched."""
    candidates = [t for t in TRANSITIONS.values() if t.target == target and t not in OWN_SLOT_STATEMENTS]
    assert candidates, f"no transition reaches {target}"
    for transition in candidates:
        # A goal waiting for an event is resumed by one; a goal waiting for its children, fanned in.
        waits_for = "tests.event" if transition.stops_waiting else ""
        # A held goal is released only when held for its turn under a rate.
        goal = make_goal(state=source, attempt=1, max_attempts=3, wait_event=waits_for,
                         held_for="rate" if source == GoalState.HELD else "")
        before = Goal.objects.values().get(pk=goal.pk)
        events = goal.events.count()
        if transition.allows(source):
            outcome = _apply(transition, goal).raise_if_refused()
            row = Goal.objects.get(pk=goal.pk)
            assert (outcome.from_state, outcome.state, row.state) == (source, target, target)
            assert row.attempt == (2 if transition.new_attempt else 1)
            # Only the moves that set a start time change it (none is set by make_goal).
            assert row.run_after == (START_TIME if transition.sets_start else None)
            assert row.wait_event == ("tests.event" if transition.awaits_event else "")
            event = goal.events.latest("id")
            assert (event.event, event.transition, event.from_state, event.to_state, event.cause, event.actor) == (
                EventType.TRANSITION, transition.name, source, target, "api", "tester")
        else:
            with pytest.raises(TransitionNotAllowed) as refused:
                _apply(transition, goal).raise_if_refused()
            assert (refused.value.source, refused.value.target, refused.value.goal_id) == (source, target, goal.id)
            assert Goal.objects.values().get(pk=goal.pk) == before
            assert goal.events.count() == events
    by_slot = any(t.allows(source) and t.target == target for t in OWN_SLOT_STATEMENTS)
    assert ((source, target) in allowed_pairs()) == (any(t.allows(source) for t in candidates) or by_slot)


def test_callback_of_an_older_attempt_changes_nothing_and_is_journaled_as_ignored():
    goal = make_goal(state=GoalState.RUNNING, attempt=2)
    before = Goal.objects.values().get(pk=goal.pk)
    for name in ("succeed", "fail", "schedule_retry"):
        outcome = apply_transition(TRANSITIONS[name], goal_id=goal.id, attempt=1, cause="executor",
                                   caller_task_id="old-task", new_task_id=str(uuid.uuid4()),
                                   result={"late": True}, set_result=True, journal_refusal=True)
        assert not outcome.applied
        assert (outcome.state, outcome.attempt, outcome.expected_attempt) == (GoalState.RUNNING, 2, 1)
    assert Goal.objects.values().get(pk=goal.pk) == before
    ignored = list(goal.events.filter(event=EventType.IGNORED).order_by("id"))
    assert [(e.transition, e.attempt, e.task_id, e.details["goal_attempt"]) for e in ignored] == [
        ("succeed", 1, "old-task", 2), ("fail", 1, "old-task", 2), ("schedule_retry", 1, "old-task", 2)]
    assert "stale" in str(TransitionNotAllowed(goal_id=goal.id, transition="succeed", source="running",
                                               target="succeeded", attempt=2, expected_attempt=1))


def test_duplicate_success_callback_applies_once():
    goal = make_goal(state=GoalState.RUNNING)
    first = _apply(TRANSITIONS["succeed"], goal, result=1, set_result=True, journal_refusal=True)
    second = _apply(TRANSITIONS["succeed"], goal, result=2, set_result=True, journal_refusal=True)
    assert (first.applied, second.applied) == (True, False)
    assert Goal.objects.get(pk=goal.pk).result == 1
    assert list(goal.events.order_by("id").values_list("event", flat=True)) == ["transition", "ignored"]


def test_new_attempt_closes_the_old_attempt_row_and_opens_the_next():
    goal = make_goal(state=GoalState.RUNNING, attempt=1)
    error = {"type": "Boom", "message": "x", "traceback": ""}
    outcome = _apply(TRANSITIONS["schedule_retry"], goal, new_task_id="next-task", error=error).raise_if_refused()
    assert (outcome.state, outcome.attempt, outcome.task_id) == (GoalState.RETRYING, 2, "next-task")
    first, second = goal.attempts.order_by("number")
    assert (first.outcome, first.error, first.finished_at is not None) == (AttemptOutcome.FAILED, error, True)
    assert (second.number, second.task_id, second.outcome, second.queued_at is not None) == (2, "next-task", "", True)


def test_automatic_new_attempts_stay_within_the_budget():
    goal = make_goal(state=GoalState.RUNNING, attempt=3, max_attempts=3)
    outcome = _apply(TRANSITIONS["schedule_retry"], goal)
    assert not outcome.applied
    assert outcome.budget_exhausted
    # An explicit retry of the failed goal grants a fresh budget.
    failed = make_goal(state=GoalState.FAILED, attempt=3, max_attempts=3)
    retried = apply_transition(TRANSITIONS["retry"], goal_id=failed.id, attempt=None, cause="admin",
                               new_task_id=str(uuid.uuid4()), budget=3).raise_if_refused()
    assert (retried.attempt, retried.max_attempts, retried.state) == (4, 6, GoalState.PENDING)
    assert Goal.objects.get(pk=failed.pk).finished_at is None


def test_unknown_goal_raises_goal_not_found():
    with pytest.raises(GoalNotFound):
        apply_transition(TRANSITIONS["cancel"], goal_id=uuid.uuid4(), attempt=None, cause="api")


def test_a_transition_is_one_statement(django_assert_num_queries):
    goal = make_goal(state=GoalState.QUEUED)
    with django_assert_num_queries(1):
        _apply(TRANSITIONS["start"], goal).raise_if_refused()
    with django_assert_num_queries(1):
        apply_transition(TRANSITIONS["succeed"], goal_id=goal.id, attempt=1, cause="executor", result={"ok": 1},
                         set_result=True, progress=(10, 10, "done")).raise_if_refused()
    with django_assert_num_queries(1):
        _apply(TRANSITIONS["succeed"], goal, journal_refusal=True)


@pytest.mark.django_db(transaction=True)
def test_only_the_asynchronous_moves_relax_the_commit_and_only_for_their_own_transaction():
    """ENQUEUE and progress writes commit without waiting for the disk; the setting must not leak into
    the connection's later transactions (a durable move after it still waits for the flush)."""
    from django.db import connection

    from goals.lifecycle.statements import STATEMENTS
    from goals.lifecycle.states import ENQUEUE, START
    from goals.worker.context import ExecutionContext

    relaxed = [name for name, s in STATEMENTS.items() if "set_config('synchronous_commit', 'off', true)" in s.sql]
    assert relaxed == ["mark_queued", "report_progress"], "a move whose loss in a crash is harmless, alone"

    def synchronous_commit() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    goal = make_goal(state=GoalState.PENDING)
    assert _apply(ENQUEUE, goal).applied
    assert synchronous_commit() == "on"
    assert _apply(START, Goal.objects.get(pk=goal.pk)).applied
    ExecutionContext(goal_id=goal.id, attempt=1, kind=goal.kind, interval=0).progress(3, 4, "three")
    assert synchronous_commit() == "on"
    assert Goal.objects.values_list("state", "progress_current").get(pk=goal.pk) == (GoalState.RUNNING, 3)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("prepared", [True, False])
def test_the_per_goal_statements_are_prepared_unless_turned_off(settings, prepared):
    """goals.db prepares transitions once per connection; GOALS_PREPARED_STATEMENTS=False (PgBouncer in
    transaction mode) runs them unprepared, with the same outcome."""
    from django.db import connection

    from goals.lifecycle.states import ENQUEUE, START

    settings.GOALS_PREPARED_STATEMENTS = prepared
    connection.close()
    goal = make_goal(state=GoalState.PENDING)
    assert _apply(ENQUEUE, goal).applied
    assert _apply(START, Goal.objects.get(pk=goal.pk)).applied
    with connection.cursor() as cursor:
        cursor.execute("SELECT array_agg(split_part(statement, E'\\n', 1) ORDER BY statement)"
                       " FROM pg_prepared_statements WHERE statement LIKE '-- goaltrack: %%'")
        named = ["-- goaltrack: mark_queued", "-- goaltrack: start_attempt"]
        assert cursor.fetchone()[0] == (named if prepared else None)
    assert Goal.objects.get(pk=goal.pk).state == GoalState.RUNNING


def test_a_set_of_goals_moves_in_one_statement_each_with_its_own_values(django_assert_num_queries):
    earlier = {"type": "Earlier", "message": "kept", "traceback": ""}
    given = {"type": "Boom", "message": "given", "traceback": ""}
    with_error, without, stale = (make_goal(state=GoalState.RUNNING, error=earlier) for _ in range(3))
    moves = [GoalMove(goal_id=with_error.id, attempt=1, error=given, details={"n": 1}),
             GoalMove(goal_id=without.id, attempt=1, details={"n": 2}),
             GoalMove(goal_id=stale.id, attempt=2)]
    with django_assert_num_queries(1):
        outcomes = {o.goal_id: o for o in apply_transitions(TRANSITIONS["fail"], moves, cause="reconciler")}
    assert [outcomes[g.id].applied for g in (with_error, without, stale)] == [True, True, False]
    for goal, error, n in ((with_error, given, 1), (without, earlier, 2)):
        goal.refresh_from_db()
        assert (goal.state, goal.error) == (GoalState.FAILED, error)
        assert goal.events.get(transition="fail").details == {"n": n}
    stale.refresh_from_db()
    assert stale.state == GoalState.RUNNING, "fenced on its own attempt"
