"""The public API of goaltrack.

    from goals.api import executor, submit

    @executor("reports.build", max_attempts=3, timeout=600)
    def build_report(ctx, *, month):
        for i, part in enumerate(parts(month)):
            render(part)
            ctx.progress(i + 1, len(parts), f"rendered {part}")
        return {"url": ...}

    goal = submit("reports.build", {"month": "2026-11"}, idempotency_key="report-2026-11")
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from goals.context import ExecutionContext
from goals.exceptions import (
    GoalError,
    GoalNoLongerRunning,
    GoalNotFound,
    GoalValidationError,
    TransitionNotAllowed,
)
from goals.models import Cause, Goal
from goals.registry import executor
from goals.services import goal_cancel, goal_retry, goal_submit

__all__ = [
    "ExecutionContext",
    "Goal",
    "GoalError",
    "GoalNoLongerRunning",
    "GoalNotFound",
    "GoalValidationError",
    "TransitionNotAllowed",
    "cancel",
    "executor",
    "retry",
    "submit",
]


def submit(kind: str, params: dict[str, Any] | None = None, *, idempotency_key: str | None = None,
           owner: Any = None, deadline: datetime | None = None) -> Goal:
    """Record a goal of ``kind`` and send it to a worker once the current transaction commits."""
    goal, _created = goal_submit(kind=kind, params=params, idempotency_key=idempotency_key, owner=owner,
                                 deadline=deadline)
    return goal


def _actor_name(actor: Any) -> str:
    if actor is None:
        return ""
    return actor.get_username() if hasattr(actor, "get_username") else str(actor)


def cancel(goal_id: UUID | str, *, actor: Any = None, reason: str = "") -> Goal:
    """Cancel a goal that is not final; raises ``TransitionNotAllowed`` otherwise."""
    return goal_cancel(goal_id=goal_id, actor=_actor_name(actor), reason=reason, cause=Cause.API)


def retry(goal_id: UUID | str, *, actor: Any = None, reason: str = "") -> Goal:
    """Run a failed, cancelled or expired goal again as a new attempt."""
    return goal_retry(goal_id=goal_id, actor=_actor_name(actor), reason=reason, cause=Cause.API)
