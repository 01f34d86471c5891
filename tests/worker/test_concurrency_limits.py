"""Concurrency limits on the real worker: held goals hold no worker and spend no attempt, the limit holds at
every instant (proven from the attempts' start and end times, not sampled), and a limited goal's life costs
the same statements as any other's when nothing is held (goals.executors.limits)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from faults.overlap import most_at_once
from goals.api import submit
from goals.lifecycle.states import GoalState
from goals.models import Attempt, ConcurrencySlots, Goal
from tests.conftest import wait_final
from tests.worker.test_goal_cost import classify

pytestmark = pytest.mark.worker


def test_most_at_once_counts_overlaps():
    assert most_at_once([(0, 2), (1, 3), (2, 4)]) == 2
    assert most_at_once([(0, 1), (1, 2)]) == 1
    assert most_at_once([(0, 5), (1, 2), (3, 4)]) == 2


def test_a_kind_limited_to_one_never_runs_two_at_once_and_each_goal_runs_once(worker):
    goals = [submit("tests.limited_kind", {"seconds": 0.3}) for _ in range(6)]
    finals = [wait_final(goal.id, worker=worker, timeout=60) for goal in goals]
    assert {goal.state for goal in finals} == {GoalState.SUCCEEDED}
    assert {goal.attempt for goal in finals} == {1}, "a held goal spends no attempt"
    attempts = Attempt.objects.filter(goal__in=goals)
    assert attempts.count() == 6
    intervals = sorted((a.started_at, a.finished_at) for a in attempts)
    assert most_at_once(intervals) == 1, intervals
    held = Goal.objects.filter(pk__in=[g.pk for g in goals], events__transition="hold").distinct().count()
    assert held >= 1, "two worker processes for one slot: some goal was held"
    assert Goal.objects.filter(pk__in=[g.pk for g in goals], events__transition="admit").distinct().count() == held
    assert ConcurrencySlots.objects.values_list("running", "held").get(kind="tests.limited_kind") == (0, 0)


def test_a_retry_gives_its_slot_back_and_takes_one_again(worker):
    goals = [submit("tests.limited", {"tenant": "acme", "seconds": 0.2, "fail": True}) for _ in range(3)]
    finals = [wait_final(goal.id, worker=worker, timeout=60) for goal in goals]
    assert {(goal.state, goal.attempt) for goal in finals} == {(GoalState.SUCCEEDED, 2)}
    attempts = Attempt.objects.filter(goal__in=goals)
    assert most_at_once([(a.started_at, a.finished_at) for a in attempts]) <= 2
    assert ConcurrencySlots.objects.values_list("running", "held").get(kind="tests.limited", key="acme") == (0, 0)


@override_settings(GOALS_SEND_IN_BACKGROUND=False)
def test_a_limited_goal_with_a_free_slot_costs_no_extra_statement(worker):
    goal = submit("tests.limited", {"tenant": "solo"})
    goal = wait_final(goal.id, worker=worker)
    assert goal.state == GoalState.SUCCEEDED
    on_worker = worker.statements(goal.id)
    assert [classify(statement["sql"]) for statement in on_worker] == ["transition", "transition"]
