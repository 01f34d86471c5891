"""What a person does to a goal: cancel it, or run it again.

Every function here is keyword-only and either runs one statement or wraps its statements in a
transaction; each move goes through ``goals.submitting.moves``, which sends what it opened. Submitting is
``goals.submitting.submit``.
"""

from __future__ import annotations

import logging
import uuid

from django.db import transaction

from goals.exceptions import ChildOutcomeUsed, GoalNotFound
from goals.executors.registry import get_executor
from goals.ids import new_task_id
from goals.lifecycle.states import CANCEL, RETRY
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
