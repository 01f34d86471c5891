"""Writes: submitting goals, handing them to the broker, cancelling and retrying them.

Every function here is keyword-only and either runs one statement or wraps its statements in a
transaction; state changes go through ``goals.transitions``.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from goals.db import hot_cursor, model_from_row
from goals.dispatch import Dispatch
from goals.exceptions import ChildOutcomeUsed, GoalNotFound, GoalValidationError
from goals.ids import new_id, new_task_id
from goals.models import Attempt, Cause, EventType, Goal, GoalEvent
from goals.moves import move
from goals.registry import get_executor
from goals.sender import send
from goals.states import CANCEL, RETRY, GoalState
from goals.transitions import TransitionOutcome
from goals.validation import validate_submission

logger = logging.getLogger(__name__)


def validate_options(idempotency_key: Any, deadline: Any) -> None:
    if idempotency_key is not None and (not isinstance(idempotency_key, str) or not 0 < len(idempotency_key) <= 255):
        raise GoalValidationError({"idempotency_key": "must be a string of 1 to 255 characters"}, code="invalid")
    if deadline is not None and (not isinstance(deadline, datetime) or timezone.is_naive(deadline)):
        raise GoalValidationError({"deadline": "must be a timezone-aware datetime"}, code="invalid")


def submitter_name(owner: Any) -> str:
    """The journal's actor for a submit that names none: the owner's user name, if there is an owner."""
    return owner.get_username() if hasattr(owner, "get_username") else ""


# The goal's columns, named once: the statement returns them in this order (no cursor description to build).
GOAL_COLUMNS = [field.column for field in Goal._meta.concrete_fields]


@lru_cache(maxsize=1)
def _insert_statement() -> str:
    goal_t, columns = Goal._meta.db_table, ", ".join(GOAL_COLUMNS)
    # One statement inserts the goal, its first attempt and its first event; on an idempotency-key
    # conflict it inserts nothing and returns no row.
    return f"""
    WITH goal AS (
        INSERT INTO {goal_t} (id, kind, params, state, attempt, max_attempts, progress_current, progress_message,
                              task_id, owner_id, idempotency_key, created_at, deadline)
        VALUES (%(id)s, %(kind)s, %(params)s::jsonb, %(state)s, 1, %(max_attempts)s, 0, '',
                %(task_id)s, %(owner_id)s, %(idempotency_key)s, now(), %(deadline)s)
        ON CONFLICT (kind, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING {columns}
    ),
    {first_rows_sql()}
    SELECT {columns} FROM goal
    """


def first_rows_sql() -> str:
    """The CTEs that give every goal a ``goal`` CTE inserted its first attempt and its ``submit`` journal
    row, in the same statement (``%(cause)s`` and ``%(actor)s`` are the journal's)."""
    attempt_t, event_t = Attempt._meta.db_table, GoalEvent._meta.db_table
    return f"""attempt AS (
        INSERT INTO {attempt_t} (goal_id, number, task_id, worker, created_at, outcome)
        SELECT id, 1, task_id, '', created_at, '' FROM goal
    ),
    journal AS (
        INSERT INTO {event_t} (goal_id, created_at, event, transition, from_state, to_state, attempt, task_id,
                               cause, actor, details)
        SELECT id, created_at, '{EventType.TRANSITION.value}', 'submit', '', state, 1, task_id,
               %(cause)s, %(actor)s, '{{}}'::jsonb
          FROM goal
    )"""


def goal_submit(
    *,
    kind: str,
    params: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    owner: Any = None,
    deadline: datetime | None = None,
    cause: str = Cause.API,
    actor: str = "",
) -> tuple[Goal, bool]:
    """Record a goal and send it once the surrounding transaction commits; returns ``(goal, created)``.

    With an ``idempotency_key`` already used for this kind, returns the existing goal with ``created``
    False and sends nothing (different params under the same key are refused): the HTTP API answers 200
    instead of 202 then, without reading the key first, which would race. Bad input raises
    ``GoalValidationError`` before anything is written.
    """
    spec, stored_params, encoded = validate_submission(kind, params)
    validate_options(idempotency_key, deadline)
    owner_id = getattr(owner, "pk", owner)
    values = {
        "id": str(new_id()),
        "kind": kind,
        "params": encoded,
        "state": GoalState.PENDING.value,
        "max_attempts": spec.max_attempts,
        "task_id": new_task_id(),
        "owner_id": owner_id,
        "idempotency_key": idempotency_key,
        "deadline": deadline,
        "cause": cause,
        "actor": actor or submitter_name(owner),
    }
    with hot_cursor() as cursor:
        cursor.execute(_insert_statement(), values)
        row = cursor.fetchone()
    if row is None:
        existing = Goal.objects.get(kind=kind, idempotency_key=idempotency_key)
        if existing.params != stored_params:
            raise GoalValidationError(
                {"idempotency_key": f"already used for goal {existing.id} with different params"},
                code="idempotency_conflict",
            )
        return existing, False
    goal = model_from_row(Goal, GOAL_COLUMNS, row)
    transaction.on_commit(partial(send, Dispatch(goal_id=goal.id, attempt=1, task_id=goal.task_id, kind=kind)))
    return goal, True


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
