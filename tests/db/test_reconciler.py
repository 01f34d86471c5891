"""The reconciler, one test per finding kind: the repair checked on the goal row and in the journal.

Result rows are written by django-celery-results' own backend, as a worker writes them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from celery import states
from django.utils import timezone
from django_celery_results.models import TaskResult

from goals.lifecycle.states import GoalState
from goals.models import (
    Action,
    AttemptOutcome,
    Cause,
    EventType,
    Finding,
    Goal,
    GoalEvent,
    ReconciliationFinding,
    ReconciliationReport,
)
from goals.reconciler.passes import run_pass
from tests.conftest import final_task_results
from tests.factories import make_goal, store_task_result

pytestmark = pytest.mark.django_db

NOW = timezone.now


def reconcile(**kwargs):
    report, findings = run_pass(**kwargs)
    return report, {(f.goal_id, f.kind): f for f in findings}


def last_event(goal: Goal) -> GoalEvent:
    return goal.events.order_by("-id").first()


def test_lost_success_callback_applies_the_stored_result():
    goal = make_goal(state=GoalState.RUNNING)
    store_task_result(goal.task_id, status=states.SUCCESS, result={"rows": 3}, goal_id=goal.id,
                      done_at=NOW() - timedelta(minutes=5))

    report, findings = reconcile()

    goal.refresh_from_db()
    assert (goal.state, goal.result) == (GoalState.SUCCEEDED, {"rows": 3})
    finding = findings[(goal.id, Finding.LOST_CALLBACK)]
    assert (finding.action, finding.before_state, finding.after_state) == (
        Action.APPLIED_SUCCESS, GoalState.RUNNING, GoalState.SUCCEEDED)
    assert finding.evidence["task_result"] == "SUCCESS"
    event = last_event(goal)
    assert (event.transition, event.cause, event.details["finding"]) == ("succeed", Cause.RECONCILER,
                                                                          Finding.LOST_CALLBACK)
    assert report.findings_by_kind == {Finding.LOST_CALLBACK: 1}
    assert goal.attempts.get().outcome == AttemptOutcome.SUCCEEDED


def test_lost_failure_callback_applies_the_stored_error():
    goal = make_goal(state=GoalState.RUNNING)
    store_task_result(goal.task_id, status=states.FAILURE, exc=ValueError("bad month"), goal_id=goal.id,
                      done_at=NOW() - timedelta(minutes=5))

    reconcile()

    goal.refresh_from_db()
    assert goal.state == GoalState.FAILED
    assert (goal.error["type"], goal.error["message"]) == ("ValueError", "bad month")
    assert "boom" in goal.error["traceback"]


def test_fresh_final_result_is_left_to_its_callback():
    goal = make_goal(state=GoalState.RUNNING)
    store_task_result(goal.task_id, status=states.SUCCESS, result=1, goal_id=goal.id)
    _, findings = reconcile()
    assert findings == {}
    goal.refresh_from_db()
    assert goal.state == GoalState.RUNNING


def make_stalled(**fields) -> Goal:
    goal = make_goal(state=GoalState.RUNNING, **fields)
    Goal.objects.filter(pk=goal.pk).update(heartbeat_at=NOW() - timedelta(minutes=10))
    return goal


def test_stalled_goal_with_attempts_left_is_sent_again_as_a_new_attempt():
    goal = make_stalled(max_attempts=3)
    old_task = goal.task_id

    _, findings = reconcile()

    goal.refresh_from_db()
    assert goal.attempt == 2
    assert goal.state in (GoalState.PENDING, GoalState.QUEUED)
    assert goal.task_id != old_task
    assert findings[(goal.id, Finding.STALLED)].action == Action.REDISPATCHED
    assert findings[(goal.id, Finding.STALLED)].evidence["task_result"] == "missing"
    assert goal.attempts.get(number=1).outcome == AttemptOutcome.WORKER_LOST
    assert goal.events.filter(transition="redispatch", cause=Cause.RECONCILER).exists()
    assert not goal.needs_review


def test_stalled_goal_without_attempts_left_fails_and_is_flagged():
    goal = make_stalled(max_attempts=1)

    _, findings = reconcile()

    goal.refresh_from_db()
    assert (goal.state, goal.needs_review) == (GoalState.FAILED, True)
    assert "no attempt left of 1" in goal.review_reason
    assert findings[(goal.id, Finding.STALLED)].action == Action.FAILED
    assert goal.events.filter(event=EventType.FLAGGED).count() == 1


def test_stalled_non_idempotent_goal_is_failed_and_flagged_never_run_again():
    goal = make_stalled(kind="tests.sleeper_once", max_attempts=3)

    reconcile()

    goal.refresh_from_db()
    assert (goal.state, goal.attempt, goal.needs_review) == (GoalState.FAILED, 1, True)
    assert "not idempotent" in goal.review_reason


def test_running_past_its_hard_time_limit_with_no_result_row_is_result_missing():
    # Heartbeat fresh (an executor that reported, then hung past the limit Celery should have enforced).
    goal = make_goal(state=GoalState.RUNNING, max_attempts=3)
    Goal.objects.filter(pk=goal.pk).update(started_at=NOW() - timedelta(hours=2))

    _, findings = reconcile()

    assert findings[(goal.id, Finding.RESULT_MISSING)].action == Action.REDISPATCHED
    goal.refresh_from_db()
    assert goal.attempt == 2


def test_goal_never_sent_is_sent_and_not_again_on_the_next_pass():
    goal = make_goal(state=GoalState.PENDING, now=NOW() - timedelta(minutes=10))

    _, findings = reconcile()

    goal.refresh_from_db()
    assert findings[(goal.id, Finding.NEVER_SENT)].action == Action.SENT
    assert (goal.state, goal.attempt) == (GoalState.QUEUED, 1)
    assert goal.events.filter(transition="enqueue").exists()
    _, again = reconcile()
    assert again == {}


def test_recently_submitted_pending_goal_is_left_alone():
    make_goal(state=GoalState.PENDING)
    _, findings = reconcile()
    assert findings == {}


def test_goal_lost_in_queue_is_sent_again_as_a_new_attempt():
    goal = make_goal(state=GoalState.QUEUED, max_attempts=2, queued_at=NOW() - timedelta(hours=2))
    # The evidence: its queue has since delivered a goal submitted after it.
    make_goal(state=GoalState.RUNNING)

    _, findings = reconcile()

    goal.refresh_from_db()
    assert findings[(goal.id, Finding.LOST_IN_QUEUE)].action == Action.REDISPATCHED
    assert goal.attempt == 2
    assert goal.attempts.get(number=1).outcome == AttemptOutcome.ABANDONED


def test_goal_queued_long_behind_a_backlog_is_waiting_not_lost():
    """Nothing submitted after it has started: the queue is slow (or its workers are down). Sending it
    again would add a message behind the same backlog, and so on until its attempts ran out."""
    waiting = make_goal(state=GoalState.QUEUED, queued_at=NOW() - timedelta(hours=2))
    make_goal(state=GoalState.QUEUED, queued_at=NOW() - timedelta(hours=1))
    # A goal of another queue (tests.unconsumed's) that started says nothing about this one's queue.
    make_goal(state=GoalState.RUNNING, kind="tests.unconsumed")

    _, findings = reconcile()

    assert findings == {}
    assert GoalState(Goal.objects.get(pk=waiting.pk).state) == GoalState.QUEUED


def test_overdue_goal_expires():
    goal = make_goal(state=GoalState.RUNNING, attempt=2, deadline=NOW() - timedelta(minutes=1))
    store_task_result(goal.attempts.get(number=1).task_id, status=states.RETRY, goal_id=goal.id, attempt=1)

    _, findings = reconcile()

    goal.refresh_from_db()
    assert goal.state == GoalState.EXPIRED
    assert findings[(goal.id, Finding.OVERDUE)].action == Action.EXPIRED
    assert last_event(goal).transition == "expire"
    # Both attempts' task ids end REVOKED, as Celery marks an expired task, in the same statement.
    assert [r.status for r in final_task_results(goal).values()] == [states.REVOKED] * 2


def test_final_goal_contradicted_by_its_result_is_flagged_not_rewritten():
    goal = make_goal(state=GoalState.SUCCEEDED)
    store_task_result(goal.task_id, status=states.FAILURE, exc=RuntimeError("late"), goal_id=goal.id)

    report, findings = reconcile()

    goal.refresh_from_db()
    assert (goal.state, goal.needs_review) == (GoalState.SUCCEEDED, True)
    assert findings[(goal.id, Finding.MISMATCH)].action == Action.FLAGGED
    assert report.needs_review == 1
    _, again = reconcile()
    assert again == {}, "a flagged goal is left to people"


def test_orphan_result_is_reported_only():
    store_task_result("no-such-attempt", status=states.SUCCESS, result=None, goal_id="0" * 32)

    _, findings = reconcile()

    [finding] = findings.values()
    assert (finding.kind, finding.action, finding.goal_id, finding.task_id) == (
        Finding.ORPHAN_RESULT, Action.REPORTED, None, "no-such-attempt")


def test_result_rows_gone_the_goal_row_decides():
    """Expired results: no row is "unknown", never PENDING; a stale heartbeat still gets it repaired."""
    goal = make_stalled(max_attempts=3)
    store_task_result(goal.task_id, status=states.SUCCESS, result=1, goal_id=goal.id,
                      done_at=NOW() - timedelta(days=30))
    TaskResult.objects.delete_expired(timedelta(days=7))  # what celery.backend_cleanup runs
    assert not TaskResult.objects.exists()

    _, findings = reconcile()

    assert findings[(goal.id, Finding.STALLED)].evidence["task_result"] == "missing"
    goal.refresh_from_db()
    assert goal.attempt == 2


def test_dry_run_writes_nothing_and_says_what_it_would_do():
    overdue = make_goal(state=GoalState.QUEUED, deadline=NOW() - timedelta(minutes=1))
    stalled = make_stalled(max_attempts=3)
    tables = (Goal, GoalEvent, ReconciliationReport, ReconciliationFinding)
    before = [model.objects.count() for model in tables]

    report, findings = reconcile(dry_run=True)

    assert [model.objects.count() for model in tables] == before
    assert report.pk is None
    assert findings[(overdue.id, Finding.OVERDUE)].action == Action.EXPIRED
    assert findings[(stalled.id, Finding.STALLED)].action == Action.REDISPATCHED
    assert set(Goal.objects.values_list("state", flat=True)) == {GoalState.QUEUED, GoalState.RUNNING}


def test_kind_filter_limits_the_pass():
    overdue = make_goal(state=GoalState.QUEUED, deadline=NOW() - timedelta(minutes=1))
    stalled = make_stalled(max_attempts=3)

    _, findings = reconcile(only=[Finding.STALLED])

    assert set(findings) == {(stalled.id, Finding.STALLED)}
    overdue.refresh_from_db()
    assert overdue.state == GoalState.QUEUED


def test_latest_report_is_available_to_the_orm():
    make_goal(state=GoalState.RUNNING, deadline=NOW() - timedelta(minutes=1))
    report, _ = reconcile()
    latest = ReconciliationReport.objects.latest()
    assert latest == report
    assert (latest.findings_by_kind, latest.actions_by_kind) == ({"overdue": 1}, {"expired": 1})
    assert latest.findings.get().kind == Finding.OVERDUE


def test_queued_goal_with_an_old_final_result_is_a_lost_callback_for_review():
    # Both the start and the success callbacks were lost: the goal still says queued.
    goal = make_goal(state=GoalState.QUEUED, queued_at=NOW() - timedelta(minutes=10))
    store_task_result(goal.task_id, status=states.SUCCESS, result=1, goal_id=goal.id,
                      done_at=NOW() - timedelta(minutes=5))

    _, findings = reconcile()

    assert findings[(goal.id, Finding.LOST_CALLBACK)].action == Action.FLAGGED
    goal.refresh_from_db()
    assert (goal.state, goal.needs_review) == (GoalState.QUEUED, True)


def test_evidence_carries_the_timestamps_the_goal_was_judged_on():
    goal = make_stalled(max_attempts=3)
    judged = Goal.objects.get(pk=goal.pk)

    _, findings = reconcile(dry_run=True)

    evidence = findings[(goal.id, Finding.STALLED)].evidence
    # ISO 8601 as PostgreSQL writes it (trailing zeros of the microseconds dropped): compared as instants.
    instant = datetime.fromisoformat
    assert instant(evidence["heartbeat_at"]) == judged.heartbeat_at
    assert instant(evidence["started_at"]) == judged.started_at
    assert instant(evidence["attempt_created_at"]) == judged.attempts.get(number=1).created_at
    assert (evidence["state"], evidence["attempt"], evidence["task_result"]) == (GoalState.RUNNING, 1, "missing")
    assert {"queued_at", "deadline"}.isdisjoint(evidence), "absent timestamps are left out"
