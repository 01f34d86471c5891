"""Flagging goals for a person to review (a goal the reconciler must not repair on its own), and clearing
the flag once a person has looked.

Flagging does not change the goal's state. Like a transition it is one statement, fenced on state and
attempt, that journals itself, so a flag never lands on a goal that moved on meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from goals.lifecycle import store


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
    return store.flag_for_review(flags=items, cause=cause, actor=actor)


def goal_flag_for_review(*, goal_id: UUID | str, state: str, attempt: int, reason: str, cause: str,
                         actor: str = "", details: dict[str, Any] | None = None) -> bool:
    """Flag the goal if it is still in ``state`` at ``attempt`` and not flagged already; returns whether
    this call flagged it."""
    flag = Flag(goal_id=goal_id, state=state, attempt=attempt, reason=reason, details=details)
    return bool(goals_flag_for_review(flags=[flag], cause=cause, actor=actor))


def goal_acknowledge(*, goal_id: UUID | str, cause: str, actor: str = "", reason: str = "") -> bool:
    """Clear the review flag of a flagged goal, journaling who did it and why; returns False (and writes
    nothing) when the goal is not flagged, e.g. because someone acknowledged it first."""
    return store.acknowledge_review(goal_id=goal_id, cause=cause, actor=actor, reason=reason)
