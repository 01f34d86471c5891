"""Families end to end with the real worker: three levels deep, a continuation, and each policy."""

from __future__ import annotations

import pytest

from goals.api import submit
from goals.lifecycle.states import GoalState
from goals.models import Cause, Goal, GoalEvent
from tests.conftest import wait_final

pytestmark = pytest.mark.worker


def family_of(goal: Goal) -> list[Goal]:
    """The goal and every descendant."""
    found, level = [goal], [goal.pk]
    while level:
        children = list(Goal.objects.filter(parent_id__in=level))
        found += children
        level = [child.pk for child in children]
    return found


def test_three_levels_of_children_end_their_parents_in_turn(worker):
    top = submit("tests.family", {"children": 2, "depth": 2})
    top = wait_final(top.id, worker=worker, timeout=60)
    members = family_of(top)
    assert len(members) == 1 + 2 + 4 + 8
    assert {member.state for member in members} == {GoalState.SUCCEEDED}
    assert top.result == {"children": {"total": 2, "succeeded": 2, "failed": 0}}
    for member in members:
        if member.kind == "tests.family":
            assert (member.children_total, member.children_final, member.fan_ins, member.attempt) == (2, 2, 1, 2)
            assert GoalEvent.objects.filter(goal=member, transition="fan_in").count() == 1
            assert list(member.attempts.values_list("outcome", flat=True)) == ["waiting", "succeeded"]


def test_a_continuation_runs_once_with_the_childrens_outcomes(worker):
    parent = submit("tests.family", {"children": 3, "then": "tests.family_merge"})
    parent = wait_final(parent.id, worker=worker)
    assert parent.state == GoalState.SUCCEEDED
    assert parent.result == {"resumed": True, "fan_ins": 1, "children": {
        f"0.{n}": ["succeeded", {"counted": 2}] for n in range(3)}}


def test_fail_fast_fails_the_parent_at_the_first_failed_child_and_cancels_the_rest(worker):
    parent = submit("tests.family", {"children": 1, "failing": 1, "slow": True})
    parent = wait_final(parent.id, worker=worker, timeout=60)
    assert parent.state == GoalState.FAILED
    assert parent.error["type"] == "goals.exceptions.ChildrenFailed"
    assert "failing-0 (failed)" in parent.error["message"]
    children = {child.child_key: child for child in Goal.objects.filter(parent=parent)}
    assert children["failing-0"].state == GoalState.FAILED
    slow = children["0.0"]
    assert slow.state == GoalState.CANCELLED, "still counting when its sibling failed"
    assert GoalEvent.objects.get(goal=slow, transition="cancel").cause == Cause.PARENT
    assert (parent.children_final, parent.children_failed) == (2, 2)


@pytest.mark.parametrize(("policy", "state"), [("tolerate_1", GoalState.SUCCEEDED),
                                               ("wait_for_all", GoalState.FAILED)])
def test_a_tolerant_parent_succeeds_with_one_failed_child_and_one_that_waits_for_all_fails_after_all(
        worker, policy, state):
    parent = submit("tests.family", {"children": 2, "failing": 1, "policy": policy})
    parent = wait_final(parent.id, worker=worker, timeout=60)
    assert parent.state == state
    children = Goal.objects.filter(parent=parent)
    assert sorted(children.values_list("state", flat=True)) == ["failed", "succeeded", "succeeded"]
    if state == GoalState.SUCCEEDED:
        assert parent.result == {"children": {"total": 3, "succeeded": 2, "failed": 1}}


def test_a_continuation_may_spawn_another_round_of_children(worker):
    goal = wait_final(submit("tests.two_rounds").id, worker=worker)
    assert goal.state == GoalState.SUCCEEDED
    assert goal.result == {"children": ["0.0", "0.1", "1.0", "1.1"]}
    assert (goal.fan_ins, goal.children_total, goal.children_final) == (2, 4, 4)
