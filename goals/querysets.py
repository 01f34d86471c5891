"""Read-only selections of goals, each backed by an index (see ``Goal.Meta.indexes``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import models
from django.utils import timezone

from goals.states import ACTIVE_STATES, FINAL_STATES, GoalState

# Sorted, and used both here and in the partial indexes' conditions, so PostgreSQL can prove that a
# query's filter implies an index's predicate.
ACTIVE_VALUES: tuple[str, ...] = tuple(sorted(ACTIVE_STATES))
FINAL_VALUES: tuple[str, ...] = tuple(sorted(FINAL_STATES))


def sql_list(values: tuple[str, ...]) -> str:
    """``'a', 'b'`` for raw SQL: literal lists let PostgreSQL match the partial indexes' predicates."""
    return ", ".join(f"'{value}'" for value in values)


class GoalQuerySet(models.QuerySet):
    def active(self) -> GoalQuerySet:
        """Goals that are not final: pending, queued, running or retrying."""
        return self.filter(state__in=ACTIVE_VALUES)

    def final(self) -> GoalQuerySet:
        return self.filter(state__in=FINAL_VALUES)

    def stale(self, *, older_than: timedelta, now: datetime | None = None) -> GoalQuerySet:
        """Running goals whose heartbeat is older than ``older_than``: their worker may be dead."""
        now = now or timezone.now()
        return self.filter(state=GoalState.RUNNING, heartbeat_at__lt=now - older_than)

    def overdue(self, *, now: datetime | None = None) -> GoalQuerySet:
        """Goals past their deadline that are not final."""
        now = now or timezone.now()
        return self.filter(state__in=ACTIVE_VALUES, deadline__lt=now)

    def for_kind(self, kind: str) -> GoalQuerySet:
        return self.filter(kind=kind)

    def owned_by(self, user: object) -> GoalQuerySet:
        return self.filter(owner=user)

    def visible_to(self, user: Any) -> GoalQuerySet:
        """What a person may see over HTTP: their own goals, or every goal for staff."""
        return self if user.is_staff else self.filter(owner_id=user.pk)
