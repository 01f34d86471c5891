"""One definition of "stale": the ORM's ``stale()`` (the admin's filter) and the reconciler's
``stalled`` finding agree, goal by goal, on each side of every kind's heartbeat timeout."""

from datetime import timedelta

import pytest
from django.utils import timezone

from goals.executors.heartbeats import heartbeat_timeout
from goals.lifecycle.states import GoalState
from goals.models import Finding, Goal
from goals.reconciler.passes import run_pass
from tests.factories import make_goal

pytestmark = pytest.mark.django_db

# A kind with its own timeout (7.5 s), one with the default (5 min), and one no executor is registered for.
KINDS = ("tests.float_limits", "tests.count", "tests.nobody_runs_this")


def test_the_orm_and_the_reconciler_call_the_same_goals_stale():
    now = timezone.now()
    expected = set()
    for kind in KINDS:
        timeout = heartbeat_timeout(kind)
        for age, stale in ((timeout * 0.5, False), (timeout * 1.5, True)):
            goal = make_goal(state=GoalState.RUNNING, kind=kind, now=now)
            Goal.objects.filter(pk=goal.pk).update(heartbeat_at=now - timedelta(seconds=age))
            if stale:
                expected.add(goal.pk)
    make_goal(state=GoalState.QUEUED, kind="tests.count", now=now - timedelta(hours=1))  # not running: never stale

    assert {timeout for timeout in map(heartbeat_timeout, KINDS)} == {7.5, 300.0}
    assert set(Goal.objects.stale(now=now).values_list("pk", flat=True)) == expected
    _, findings = run_pass(dry_run=True, only=[Finding.STALLED], now=now)
    assert {f.goal_id for f in findings} == expected


def test_a_continuation_is_stale_by_its_own_timeout_for_the_orm_and_the_reconciler_alike():
    """A parent running its continuation is judged by the continuation's ``heartbeat_timeout``, not by its
    own kind's: 60 s of silence is stale for a 7.5 s continuation under a 5 min kind, and not the other way."""
    now = timezone.now()
    silent_60s = now - timedelta(seconds=60)
    short_under_long = make_goal(state=GoalState.RUNNING, kind="tests.count", now=now,
                                 continuation="tests.float_limits", fan_ins=1)
    long_under_short = make_goal(state=GoalState.RUNNING, kind="tests.float_limits", now=now,
                                 continuation="tests.count", fan_ins=1)
    Goal.objects.filter(pk__in=[short_under_long.pk, long_under_short.pk]).update(heartbeat_at=silent_60s)

    assert set(Goal.objects.stale(now=now).values_list("pk", flat=True)) == {short_under_long.pk}
    _, findings = run_pass(dry_run=True, only=[Finding.STALLED], now=now)
    assert {f.goal_id for f in findings} == {short_under_long.pk}
