"""What a person does to a goal: cancel it, run it again, or change when it starts.

Every function here is keyword-only and either runs one statement or wraps its statements in a
transaction; each move goes through ``goals.submitting.moves``, which sends what it opened. Submitting is
``goals.submitting.submit``.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from django.db import transaction

from goals.exceptions import ChildOutcomeUsed, GoalNotFound, GoalValidationError
from goals.executors.registry import get_executor
from goals.executors.validation import start_time
from goals.ids import new_task_id
from goals.lifecycle.states import CANCEL, RESCHEDULE, RETRY
from goals.lifecycle.transitions import TransitionOutcome
from goals.models import Cause, Goal
from goals.submitting.moves import move

logger = logging.getLogger(__name__)


def goal_cancel(*, goal_id: uuid.UUID | str, actor: str = "", reason: str = "", cause: str = Cause.API) -> Goal:
    """Cancel a goal that is not final. An attempt not yet started never runs its executor; a running
    one is told at its next progress report. Raises ``TransitionNotAllowed`` for a final goal."""
    move(CANCEL, goal_id=goal_id, attempt=None, cause=cause, actor=actor,
         details={"reason": reason} if reason else None).raise_if_refused()
    return Goal.objects.get(pk=goal_id)


def _refuse_retry(outcome: TransitionOutcome) -> None:
    """Say why a retry was refused: a child whose parent has gone on, or a goal that is not final."""
    if outcome.transition.allows(outcome.from_state):
        parent = Goal.objects.filter(children__pk=outcome.goal_id).values_list("pk", "state").first()
        if parent is not None:
            raise ChildOutcomeUsed(goal_id=outcome.goal_id, source=outcome.from_state, attempt=outcome.attempt,
                                   parent_id=parent[0], parent_state=parent[1])
    outcome.raise_if_refused()


def goal_retry(*, goal_id: uuid.UUID | str, actor: str = "", reason: str = "", cause: str = Cause.API) -> Goal:
    """Run a failed, cancelled or expired goal again as a new attempt, with a fresh attempt budget."""
    with transaction.atomic():
        try:
            kind = Goal.objects.values_list("kind", flat=True).get(pk=goal_id)
        except Goal.DoesNotExist:
            raise GoalNotFound(goal_id) from None
        outcome: TransitionOutcome = move(
            RETRY, goal_id=goal_id, attempt=None, cause=cause, actor=actor, new_task_id=new_task_id(),
            budget=get_executor(kind).max_attempts, details={"reason": reason} if reason else None,
        )
        if not outcome.applied:
            _refuse_retry(outcome)
    return Goal.objects.get(pk=goal_id)


def goal_reschedule(*, goal_id: uuid.UUID | str, run_after: datetime | None = None, countdown: Any = None,
                    actor: str = "", reason: str = "", cause: str = Cause.API) -> Goal:
    """Change when a goal that waits to start (``scheduled``) starts: ``run_after`` (an aware datetime) or
    ``countdown`` (seconds from now), earlier or later; a time already past starts it at once. The deadline,
    fixed at submit, must come after it. Raises ``TransitionNotAllowed`` for a goal that no longer waits to
    start (released, running or final): its start is behind it."""
    if run_after is None and countdown is None:
        raise GoalValidationError({"run_after": "give run_after or countdown"}, code="required")
    with transaction.atomic():
        try:
            deadline, was = Goal.objects.values_list("deadline", "run_after").get(pk=goal_id)
        except Goal.DoesNotExist:
            raise GoalNotFound(goal_id) from None
        starts = start_time(run_after=run_after, countdown=countdown, deadline=deadline)
        details = {"run_after": starts.isoformat(), "was": was.isoformat() if was else None}
        if reason:
            details["reason"] = reason
        move(RESCHEDULE, goal_id=goal_id, attempt=None, cause=cause, actor=actor, run_after=starts,
             details=details).raise_if_refused()
    return Goal.objects.get(pk=goal_id)
