"""Flagging goals for a person to review (a goal the reconciler must not repair on its own), and clearing
the flag once a person has looked.

Flagging does not change the goal's state. Like a transition it is one statement, fenced on state and
attempt, that journals itself, so a flag never lands on a goal that moved on meanwhile.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import connection

from goals.models import EventType, Goal, GoalEvent


def _flag_statement() -> str:
    goal_t, event_t = Goal._meta.db_table, GoalEvent._meta.db_table
    return f"""
    WITH flagged AS (
        UPDATE {goal_t} g SET needs_review = true, review_reason = f.reason
          FROM jsonb_to_recordset(%(flags)s::jsonb) AS f(goal_id uuid, state text, attempt integer, reason text,
                                                         details jsonb)
         WHERE g.id = f.goal_id AND g.state = f.state AND g.attempt = f.attempt AND NOT g.needs_review
     RETURNING g.id, g.state, g.attempt, g.task_id, f.reason, f.details
    )
    INSERT INTO {event_t} (goal_id, created_at, event, transition, from_state, to_state, attempt, task_id,
                           cause, actor, details)
    SELECT id, now(), '{EventType.FLAGGED.value}', '', state, state, attempt, task_id, %(cause)s, %(actor)s,
           COALESCE(details, '{{}}'::jsonb) || jsonb_build_object('reason', reason)
      FROM flagged
    RETURNING goal_id
    """


@dataclass(frozen=True)
class Flag:
    """A goal to flag, fenced on the state and attempt it was judged at, and why."""

    goal_id: UUID | str
    state: str
    attempt: int
    reason: str
    details: dict[str, Any] | None = None


def goals_flag_for_review(*, flags: list[Flag], cause: str, actor: str = "") -> set[str]:
    """Flag each goal still in its ``state`` at its ``attempt`` and not flagged already, in one statement;
    returns the ids (as text) of the goals this call flagged."""
    if not flags:
        return set()
    items = [{"goal_id": str(f.goal_id), "state": f.state, "attempt": f.attempt, "reason": f.reason[:255],
              "details": f.details or {}} for f in flags]
    with connection.cursor() as cursor:
        cursor.execute(_flag_statement(), {"flags": json.dumps(items), "cause": cause, "actor": actor[:255]})
        return {str(goal_id) for (goal_id,) in cursor.fetchall()}


def goal_flag_for_review(*, goal_id: UUID | str, state: str, attempt: int, reason: str, cause: str,
                         actor: str = "", details: dict[str, Any] | None = None) -> bool:
    """Flag the goal if it is still in ``state`` at ``attempt`` and not flagged already; returns whether
    this call flagged it."""
    flag = Flag(goal_id=goal_id, state=state, attempt=attempt, reason=reason, details=details)
    return bool(goals_flag_for_review(flags=[flag], cause=cause, actor=actor))


def _acknowledge_statement() -> str:
    goal_t, event_t = Goal._meta.db_table, GoalEvent._meta.db_table
    return f"""
    WITH cleared AS (
        UPDATE {goal_t} SET needs_review = false, review_reason = ''
         WHERE id = %(goal_id)s AND needs_review
     RETURNING id, state, attempt, task_id
    )
    INSERT INTO {event_t} (goal_id, created_at, event, transition, from_state, to_state, attempt, task_id,
                           cause, actor, details)
    SELECT id, now(), '{EventType.ACKNOWLEDGED.value}', '', state, state, attempt, task_id, %(cause)s, %(actor)s,
           jsonb_build_object('reason', %(reason)s::text)
      FROM cleared
    RETURNING goal_id
    """


def goal_acknowledge(*, goal_id: UUID | str, cause: str, actor: str = "", reason: str = "") -> bool:
    """Clear the review flag of a flagged goal, journaling who did it and why; returns False (and writes
    nothing) when the goal is not flagged, e.g. because someone acknowledged it first."""
    with connection.cursor() as cursor:
        cursor.execute(_acknowledge_statement(), {
            "goal_id": str(goal_id), "cause": cause, "actor": actor[:255], "reason": reason[:1000],
        })
        return cursor.fetchone() is not None
