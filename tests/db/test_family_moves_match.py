"""The fan-in and the cancel that a child's or a parent's statement applies to another goal (the
``counted`` and ``cascaded`` parts of ``move_goals``) leave that goal exactly as the ``fan_in`` and
``cancel`` transitions do when applied to it directly: they must be written inside the one statement (one
round trip, locks ancestors first), so they are held equal here instead."""

from __future__ import annotations

import pytest
from django_celery_results.models import TaskResult

from goals.families.children import spawn_children
from goals.lifecycle.states import CANCEL, FAN_IN, START, SUCCEED, WAIT, GoalState
from goals.lifecycle.transitions import apply_transition
from goals.models import Cause, Goal
from tests.factories import make_goal

pytestmark = pytest.mark.django_db


def moved_goal(goal_id) -> dict:
    """What a move decides of a goal: its row, its attempts and the journal row of the move."""
    goal = Goal.objects.get(pk=goal_id)
    attempts = [(a.number, a.outcome, a.finished_at is None, a.queued_at is None)
                for a in goal.attempts.order_by("number")]
    [event] = goal.events.filter(transition__in=["fan_in", "cancel"]).values(
        "event", "transition", "from_state", "to_state", "attempt")
    results = sorted(TaskResult.objects.filter(task_id__in=goal.attempts.values("task_id")).values_list(
        "status", flat=True))
    return {"state": goal.state, "final_state": goal.final_state, "attempt": goal.attempt,
            "fan_ins": goal.fan_ins, "finished": goal.finished_at is not None,
            "cleared": (goal.queued_at is None, goal.started_at is None, goal.heartbeat_at is None),
            "children": (goal.children_total, goal.children_final, goal.children_failed),
            "attempts": attempts, "event": event, "results": results}


def waiting_parent(*, children_end_first: bool) -> Goal:
    parent = make_goal(state=GoalState.RUNNING, kind="tests.count")
    [child] = spawn_children(parent_id=parent.id, attempt=1, kind="tests.noop", params_list=[{}], keys=["k"],
                             deadline=None, actor="w")
    apply_transition(START, goal_id=child, attempt=1, cause=Cause.EXECUTOR)
    if children_end_first:
        apply_transition(SUCCEED, goal_id=child, attempt=1, cause=Cause.EXECUTOR).raise_if_refused()
    apply_transition(WAIT, goal_id=parent.id, attempt=1, cause=Cause.EXECUTOR, budget=2, failures_allowed=0,
                     continuation="tests.noop").raise_if_refused()
    if not children_end_first:
        assert apply_transition(SUCCEED, goal_id=child, attempt=1, cause=Cause.EXECUTOR).fanned_in is not None
    return parent


def test_a_parent_fanned_in_by_its_childs_end_is_left_as_its_own_fan_in_leaves_it():
    by_child = waiting_parent(children_end_first=False)
    by_itself = waiting_parent(children_end_first=True)
    apply_transition(FAN_IN, goal_id=by_itself.id, attempt=1, cause=Cause.EXECUTOR, new_task_id="t-2"
                     ).raise_if_refused()
    assert moved_goal(by_child.id) == moved_goal(by_itself.id)
    assert moved_goal(by_child.id)["state"] == GoalState.PENDING


def running_child_of(parent: Goal) -> str:
    [child] = spawn_children(parent_id=parent.id, attempt=parent.attempt, kind="tests.noop", params_list=[{}],
                             keys=["k"], deadline=None, actor="w")
    apply_transition(START, goal_id=child, attempt=1, cause=Cause.EXECUTOR)
    return child


def test_a_child_cancelled_by_its_parents_end_is_left_as_its_own_cancel_leaves_it():
    cascaded = running_child_of(make_goal(state=GoalState.RUNNING, kind="tests.count"))
    direct = running_child_of(make_goal(state=GoalState.RUNNING, kind="tests.count"))
    parent = Goal.objects.get(pk=cascaded).parent_id
    apply_transition(CANCEL, goal_id=parent, attempt=None, cause=Cause.API).raise_if_refused()
    apply_transition(CANCEL, goal_id=direct, attempt=None, cause=Cause.API).raise_if_refused()
    assert moved_goal(cascaded) == moved_goal(direct)
    assert moved_goal(cascaded)["state"] == GoalState.CANCELLED
