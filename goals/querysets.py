"""Read-only selections of goals, each backed by an index (see ``Goal.Meta.indexes``).

Active means ``finished_at IS NULL`` here and in the indexes, never ``state IN (...)``: a check
constraint makes the two equivalent, and an index that named ``state`` (even only in its predicate)
would stop every state change from being a HOT update. Final goals are told apart by ``final_state``,
a column the final transition sets with the state (a check constraint holds them equal), NULL through
every active transition.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import models
from django.utils import timezone

from goals.executors.heartbeats import silent_q
from goals.lifecycle.run_kind import RunKind
from goals.lifecycle.states import ACTIVE_STATES, FINAL_STATES, GoalState

ACTIVE_VALUES: tuple[str, ...] = tuple(sorted(ACTIVE_STATES))
FINAL_VALUES: tuple[str, ...] = tuple(sorted(FINAL_STATES))
# The partial indexes' predicates, as Q objects (the indexes and the querysets) and as raw SQL.
ACTIVE_Q = models.Q(finished_at__isnull=True)
FINAL_Q = models.Q(finished_at__isnull=False)


def active_sql(alias: str) -> str:
    """Raw SQL for "``alias`` is active", in the form the partial indexes' predicates take."""
    return f"{alias}.finished_at IS NULL"


def sql_list(values: tuple[str, ...]) -> str:
    """``'a', 'b'`` for raw SQL: literal lists let PostgreSQL match the partial indexes' predicates."""
    return ", ".join(f"'{value}'" for value in values)


class GoalQuerySet(models.QuerySet):
    def active(self) -> GoalQuerySet:
        """Goals that are not final: pending, queued, running or retrying."""
        return self.filter(ACTIVE_Q)

    def final(self) -> GoalQuerySet:
        return self.filter(FINAL_Q)

    def in_state(self, state: str) -> GoalQuerySet:
        """Goals in ``state``, through the index that holds them: the active goals' for an active state,
        ``(final_state, created_at)`` for a final one."""
        if state in FINAL_VALUES:
            return self.filter(final_state=state)
        return self.filter(ACTIVE_Q, state=state)

    def stale(self, *, now: datetime | None = None) -> GoalQuerySet:
        """Running goals whose heartbeat is older than the ``heartbeat_timeout`` of the executor running
        them: their worker may be dead (``goals.executors.heartbeats``, the reconciler's ``stalled`` too)."""
        return self.alias(run_kind=RunKind()).filter(ACTIVE_Q, silent_q(now or timezone.now()),
                                                     state=GoalState.RUNNING)

    def overdue(self, *, now: datetime | None = None) -> GoalQuerySet:
        """Goals past their deadline that are not final."""
        now = now or timezone.now()
        return self.filter(ACTIVE_Q, deadline__lt=now)

    def visible_to(self, user: Any) -> GoalQuerySet:
        """What a person may see over HTTP: their own goals, or every goal for staff."""
        return self if user.is_staff else self.filter(owner_id=user.pk)
