"""Rows in a chosen state, for tests that start mid-lifecycle (timestamps set explicitly)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.utils import timezone

from goals.models import Attempt, Goal
from goals.states import FINAL_STATES, GoalState


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
        **fields,
    )
    for number in range(1, attempt + 1):
        Attempt.objects.create(goal=goal, number=number, created_at=now,
                               task_id=task_id if number == attempt else str(uuid.uuid4()))
    return goal
