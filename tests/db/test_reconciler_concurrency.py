"""Two reconcilers at once over the same anomalies: each goal is repaired exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from celery import states
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from goals.lifecycle.states import FINAL_STATES, GoalState
from goals.models import Action, Cause, Goal, GoalEvent
from goals.reconciler.passes import run_pass
from tests.factories import make_goal, store_task_result

ANOMALIES = 1000


def make_anomalies(count: int) -> list[Goal]:
    """Half overdue, half lost success callbacks: repairs that need no broker round trip per goal."""
    now = timezone.now()
    goals = []
    for i in range(count):
        if i % 2:
            goals.append(make_goal(state=GoalState.QUEUED, deadline=now - timedelta(minutes=1)))
        else:
            goal = make_goal(state=GoalState.RUNNING)
            store_task_result(goal.task_id, status=states.SUCCESS, result=i, goal_id=goal.id,
                              done_at=now - timedelta(minutes=5))
            goals.append(goal)
    return goals


@pytest.mark.django_db(transaction=True)
@override_settings(GOALS_RECONCILE_BATCH_SIZE=50)
def test_two_concurrent_passes_repair_each_goal_exactly_once():
    goals = make_anomalies(ANOMALIES)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def reconciler() -> None:
        try:
            barrier.wait()
            results.append(run_pass(trigger="test"))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=reconciler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)

    assert errors == []
    repaired = [f for _, findings in results for f in findings if f.action != Action.SKIPPED]
    assert len(repaired) == ANOMALIES
    assert len({f.goal_id for f in repaired}) == ANOMALIES
    assert all(f.action in (Action.EXPIRED, Action.APPLIED_SUCCESS) for f in repaired)
    assert all(len(findings) > 0 for _, findings in results), "both passes took a share of the work"
    per_goal = GoalEvent.objects.filter(cause=Cause.RECONCILER, goal__in=goals).values_list("goal_id", flat=True)
    assert sorted(map(str, per_goal)) == sorted(str(g.id) for g in goals), "one reconciler transition per goal"
    assert set(Goal.objects.values_list("state", flat=True)) <= set(FINAL_STATES)
    _, again = run_pass(trigger="test")
    assert again == [], "a repaired goal is not repaired again"


@pytest.mark.django_db
def test_queries_of_a_pass_do_not_grow_with_the_number_of_goals(django_assert_num_queries):
    for _ in range(10):
        make_goal(state=GoalState.RUNNING)
        make_goal(state=GoalState.SUCCEEDED)
    with CaptureQueriesContext(connection) as small:
        run_pass(trigger="test")
    for _ in range(200):
        make_goal(state=GoalState.RUNNING)
        make_goal(state=GoalState.SUCCEEDED)
    # Counts, last report, detection, results, two report writes (plus the transaction's savepoints).
    with django_assert_num_queries(len(small)):
        run_pass(trigger="test")


def make_every_kind_of_anomaly(per_kind: int) -> None:
    """``per_kind`` goals of each repair the pass makes: success and failure applied from result rows,
    expiry, re-dispatch, failure with a flag (no attempt left), a send, and a flag for a mismatch."""
    now, old = timezone.now(), timezone.now() - timedelta(minutes=10)
    for _ in range(per_kind):
        for status in (states.SUCCESS, states.FAILURE):
            goal = make_goal(state=GoalState.RUNNING)
            store_task_result(goal.task_id, status=status, result=1, exc=ValueError("x"), goal_id=goal.id,
                              done_at=old)
        make_goal(state=GoalState.QUEUED, deadline=now - timedelta(minutes=1))
        for max_attempts in (3, 1):
            stalled = make_goal(state=GoalState.RUNNING, max_attempts=max_attempts)
            Goal.objects.filter(pk=stalled.pk).update(heartbeat_at=old)
        make_goal(state=GoalState.PENDING, now=old)
        contradicted = make_goal(state=GoalState.SUCCEEDED)
        store_task_result(contradicted.task_id, status=states.FAILURE, exc=ValueError("x"), goal_id=contradicted.id)


@pytest.mark.django_db
def test_statements_of_a_repairing_pass_do_not_grow_with_the_number_of_anomalies(django_assert_num_queries):
    make_every_kind_of_anomaly(1)
    with CaptureQueriesContext(connection) as small:
        _, findings = run_pass(trigger="test")
    assert len({f.action for f in findings}) == 7, {f.action for f in findings}
    make_every_kind_of_anomaly(20)
    with django_assert_num_queries(len(small)):
        _, findings = run_pass(trigger="test")
    actions = {action: sum(1 for f in findings if f.action == action) for action in {f.action for f in findings}}
    assert actions == {Action.APPLIED_SUCCESS: 20, Action.APPLIED_FAILURE: 20, Action.EXPIRED: 20,
                       Action.REDISPATCHED: 20, Action.FAILED: 20, Action.SENT: 20, Action.FLAGGED: 20}
