"""Rows in a chosen state, for tests that start mid-lifecycle (timestamps set explicitly)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from celery import current_app, states
from celery.app.task import Context
from django.utils import timezone
from django_celery_results.models import TaskResult

from goals.lifecycle.states import FINAL_STATES, GoalState
from goals.models import Attempt, Goal


def make_goal(*, state: GoalState = GoalState.QUEUED, attempt: int = 1, max_attempts: int = 3,
              kind: str = "tests.noop", now: datetime | None = None, **fields) -> Goal:
    now = now or timezone.now()
    task_id = str(uuid.uuid4())
    goal = Goal.objects.create(
        kind=kind, state=state, attempt=attempt, max_attempts=max_attempts, task_id=task_id,
        created_at=now - timedelta(minutes=5),
        started_at=now if state == GoalState.RUNNING else None,
        heartbeat_at=now if state == GoalState.RUNNING else None,
        finished_at=now if state in FINAL_STATES else None,
        final_state=state if state in FINAL_STATES else None,
        **fields,
    )
    for number in range(1, attempt + 1):
        Attempt.objects.create(goal=goal, number=number, created_at=now,
                               task_id=task_id if number == attempt else str(uuid.uuid4()))
    return goal


def store_task_result(task_id: str, *, status: str, result: object = None, exc: BaseException | None = None,
                      goal_id: object = None, attempt: int = 1, done_at: datetime | None = None) -> None:
    """Write a result row through django-celery-results' own backend, exactly as a worker would."""
    request = Context(id=task_id, task="goals.execute", args=[str(goal_id), attempt], kwargs={},
                      hostname="worker-1@test", argsrepr=None, kwargsrepr=None)
    if status == states.SUCCESS:
        current_app.backend.mark_as_done(task_id, result, request=request)
    elif status == states.RETRY:
        current_app.backend.mark_as_retry(task_id, exc or Exception("retrying"), request=request)
    else:
        current_app.backend.mark_as_failure(task_id, exc, traceback="Traceback (most recent call last):\n  boom",
                                            request=request)
    if done_at is not None:
        TaskResult.objects.filter(task_id=task_id).update(date_done=done_at)
