"""Read-only selections of goals, each backed by an index (see ``Goal.Meta.indexes``).

Active means ``finished_at IS NULL`` here and in the indexes, never ``state IN (...)``: a check
constraint makes the two equivalent, and an index that named ``state`` (even only in its predicate)
would stop every state change from being a HOT update. Final goals are told apart by ``final_state``,
a column the final transition sets with the state (a check constraint holds them equal), NULL through
every active transition.
"""

from __future__ import annotations

from dataclasses import dataclass
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


class WaitsFor(models.TextChoices):
    """What a goal that holds no worker waits for: one of the lifecycle's waiting states, with its reason."""

    START = "start", "its start time"
    """Scheduled: it starts at ``run_after`` (submitted to start later, a long retry, a schedule's period)."""
    EVENT = "event", "an outside event"
    """Waiting for the event ``wait_event`` (by ``wait_key``, if it gave one) until ``run_after``, if set."""
    CHILDREN = "children", "its children"
    """Waiting for its children's outcome."""
    SLOT = "slot", "a slot of its concurrency limit"
    """Held: its kind (or its key, ``limit_key``) runs as many as its concurrency limit allows."""
    RATE = "rate", "its turn under its kind's rate"
    """Held: its kind's rate (per ``rate_key``) gave it a later turn (``run_after``)."""
    PAUSE = "pause", "its paused kind to resume"
    """Held: an operator paused its kind (``goals.api.pause_kind``)."""


# The one place each reason is told from a goal's columns: the filters here, ``wait_of`` below.
WAITS_FOR_Q = {
    WaitsFor.START: models.Q(ACTIVE_Q, state=GoalState.SCHEDULED),
    WaitsFor.EVENT: models.Q(ACTIVE_Q, state=GoalState.WAITING) & ~models.Q(wait_event=""),
    WaitsFor.CHILDREN: models.Q(ACTIVE_Q, state=GoalState.WAITING, wait_event=""),
    WaitsFor.SLOT: models.Q(ACTIVE_Q, state=GoalState.HELD, held_for="slot"),
    WaitsFor.RATE: models.Q(ACTIVE_Q, state=GoalState.HELD, held_for="rate"),
    WaitsFor.PAUSE: models.Q(ACTIVE_Q, state=GoalState.HELD, held_for="pause"),
}


@dataclass(frozen=True)
class Wait:
    """What a goal waits for and until when, as a person reads it (the admin, the live pages, the API)."""

    what: WaitsFor
    until: datetime | None = None
    event: str = ""
    key: str | None = None
    children_left: int = 0
    # A held goal's kind (the limit's owner); its key is ``key``.
    kind: str = ""

    @property
    def summary(self) -> str:
        """``starts at 2026-12-06 02:00``, ``waits for payment.captured (order:42) until 2026-12-06 14:00``,
        ``waits for 3 of 10 children``: times in the project's time zone."""
        until = timezone.localtime(self.until).strftime("%Y-%m-%d %H:%M:%S") if self.until else ""
        if self.what == WaitsFor.START:
            return f"starts at {until}"
        if self.what == WaitsFor.EVENT:
            event = f"{self.event} ({self.key})" if self.key else self.event
            return f"waits for {event} until {until}" if until else f"waits for {event}, with no deadline"
        if self.what == WaitsFor.SLOT:
            return f"waits for a slot of {self.kind} ({self.key})" if self.key else f"waits for a slot of {self.kind}"
        if self.what == WaitsFor.RATE:
            of = f"{self.kind} ({self.key})" if self.key else self.kind
            return f"waits for its turn under the rate of {of} until {until}"
        if self.what == WaitsFor.PAUSE:
            return f"waits for {self.kind} to be resumed"
        return f"waits for {self.children_left} of its children"


def wait_of(goal: Any) -> Wait | None:
    """What ``goal`` (a ``Goal``, or any row with its columns) waits for, or None: it is not waiting."""
    if goal.state == GoalState.SCHEDULED:
        return Wait(WaitsFor.START, until=goal.run_after)
    if goal.state == GoalState.HELD and goal.held_for == "rate":
        return Wait(WaitsFor.RATE, until=goal.run_after, kind=goal.kind, key=goal.rate_key or None)
    if goal.state == GoalState.HELD:
        what = WaitsFor.PAUSE if goal.held_for == "pause" else WaitsFor.SLOT
        return Wait(what, kind=goal.kind, key=goal.limit_key or None)
    if goal.state != GoalState.WAITING:
        return None
    if goal.wait_event:
        return Wait(WaitsFor.EVENT, until=goal.run_after, event=goal.wait_event, key=goal.wait_key)
    return Wait(WaitsFor.CHILDREN, children_left=goal.children_total - goal.children_final)


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

    def waiting_for(self, what: WaitsFor | str) -> GoalQuerySet:
        """Goals holding no worker that wait for ``what``: ``start``, ``event`` or ``children``."""
        return self.filter(WAITS_FOR_Q[WaitsFor(what)])

    def visible_to(self, user: Any) -> GoalQuerySet:
        """What a person may see over HTTP: their own goals, or every goal for staff."""
        return self if user.is_staff else self.filter(owner_id=user.pk)
