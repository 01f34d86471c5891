"""What an executor gets as ``ctx``: its goal id, attempt number, throttled progress reporting, and its
goal's children (``goals.families.children``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.db import connection
from django.utils import timezone as django_timezone

from goals.db import DATABASE_UNREACHABLE
from goals.exceptions import GoalNoLongerRunning, UnknownExecutor
from goals.executors.registry import get_executor
from goals.families import children as families
from goals.lifecycle import store
from goals.lifecycle.fan_in import FAIL_FAST, ChildPolicy
from goals.lifecycle.transitions import Family
from goals.logs import goal_extra
from goals.waits import events

logger = logging.getLogger(__name__)


@dataclass
class ExecutionContext:
    """Handed to ``fn(ctx, **params)``. Progress writes are throttled to one per ``interval`` seconds;
    the latest values are always written with the final state, so none is lost.

    A progress write that finds the attempt no longer running (cancelled, expired, superseded) raises
    ``GoalNoLongerRunning``, which stops the executor cooperatively. Progress and heartbeats are hints: one
    the database cannot take (an outage, a restart) is dropped with a warning, never raised into the
    executor, where the default ``retry_on`` would spend an attempt on it (and run a non-idempotent step
    twice). The values stay pending for the next write or the final state.
    """

    goal_id: UUID | str
    attempt: int
    kind: str
    interval: float
    progress_current: int = 0
    progress_total: int | None = None
    progress_message: str = ""
    dirty: bool = False
    # What the goal's row said of its children when this attempt started, and who runs it (the journal's
    # actor for what it spawns).
    family: Family | None = None
    worker: str = ""
    # Children this attempt spawned without a key: numbered in order, so a run again spawns the same ones.
    spawned: int = 0
    # The start transition stamped the heartbeat: the throttle window opens then.
    _last_write: float = field(default_factory=time.monotonic)

    @property
    def fan_ins(self) -> int:
        """How many times the goal's children ended and it continued: 0 on its first run."""
        return self.family.fan_ins if self.family else 0

    @property
    def resumed(self) -> bool:
        """Whether this attempt continues after the goal's children (a continuation)."""
        return self.fan_ins > 0

    def spawn(self, kind: str, params: dict[str, Any] | None = None, *, key: str | None = None,
              deadline: datetime | None = None) -> UUID:
        """Start a child goal of ``kind``; returns its id. ``key`` names it among its siblings (spawning
        the same key again returns it): give one that means something (an account, a file). Without
        one, children are numbered in the order this attempt spawns them."""
        return self.spawn_many(kind, [params], keys=None if key is None else [key], deadline=deadline)[0]

    def spawn_many(self, kind: str, params_list: Sequence[dict[str, Any] | None], *,
                   keys: Sequence[str] | None = None, deadline: datetime | None = None) -> list[UUID]:
        """Start one child goal of ``kind`` per params, in one statement per few thousand (as
        ``submit_many``); returns their ids in order. Nothing is started unless every item is valid."""
        if keys is None:
            keys = [f"{self.fan_ins}.{self.spawned + n}" for n in range(len(params_list))]
        ids = families.spawn_children(parent_id=self.goal_id, attempt=self.attempt, kind=kind,
                                      params_list=params_list, keys=list(keys), deadline=deadline,
                                      actor=self.worker)
        self.spawned += len(params_list)
        return ids

    def wait_for_children(self, *, then: str | None = None,
                          policy: ChildPolicy = FAIL_FAST) -> families.WaitForChildren:
        """Hand back control until the children's outcome is known; return what this returns.

        Then the goal's next attempt runs the executor ``then`` names (``ctx.children()`` gives it the
        outcomes; ``ctx.kind`` for this one again), or, without ``then``, finishes with the children's
        aggregate. ``policy``: ``FAIL_FAST`` (the default), ``WAIT_FOR_ALL`` or ``tolerate(n)``.
        """
        _check_continuation("wait_for_children", then)
        return families.WaitForChildren(policy=policy, then=then or "")

    def wait_for_event(self, name: str, *, key: str | None = None, timeout: float | None = None,
                       until: datetime | None = None, then: str | None = None) -> events.WaitForEvent:
        """Hand back control until the outside event ``name`` arrives (sent to this goal by id, or by the
        correlation ``key``), or its deadline passes (``timeout`` seconds from now, or ``until``, an aware
        datetime; none: wait for ever); return what this returns. Then the goal's next attempt runs the
        executor ``then`` names (``ctx.kind`` for this one again), with ``ctx.event``, or None on timeout.
        An event that arrived before is taken at once."""
        events.check_name(name)
        events.check_key(key)
        _check_continuation("wait_for_event", then)
        if timeout is not None and until is not None:
            raise ValueError("wait_for_event: give timeout or until, not both")
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < 10**9:
                raise ValueError("wait_for_event: timeout is a positive number of seconds")
            until = django_timezone.now() + timedelta(seconds=timeout)
        elif until is not None and (not isinstance(until, datetime) or django_timezone.is_naive(until)):
            raise ValueError("wait_for_event: until is a timezone-aware datetime")
        return events.WaitForEvent(name=name, key=key, until=until, then=then or "")

    @property
    def event(self) -> events.EventReceived | None:
        """The outside event this attempt was resumed by, or None (not resumed by one, or timed out)."""
        return events.event_of(self.goal_id, self.attempt)

    def children(self) -> list[families.ChildOutcome]:
        """The goal's children with their state, result and error, by key."""
        return families.children_of(self.goal_id)

    def progress(self, current: int, total: int | None = None, message: str = "") -> None:
        """Record progress (``current`` of ``total`` units) and refresh the heartbeat."""
        if current < 0 or (total is not None and total < 0):
            raise ValueError("progress must not be negative")
        self.progress_current, self.progress_total, self.progress_message = int(current), total, message[:255]
        self.dirty = True
        if time.monotonic() - self._last_write >= self.interval:
            self._write()

    def heartbeat(self) -> None:
        """Say the attempt is alive without new progress (long steps with nothing to count)."""
        if time.monotonic() - self._last_write >= self.interval:
            self._write()

    @property
    def progress_values(self) -> tuple[int, int | None, str] | None:
        """The progress to store with the final state, if any was reported."""
        if not self.dirty:
            return None
        return self.progress_current, self.progress_total, self.progress_message

    def _write(self) -> None:
        try:
            changed = self._update()
        except DATABASE_UNREACHABLE as exc:
            # Try again one interval later, on a fresh connection.
            self._last_write = time.monotonic()
            connection.close()
            logger.warning("progress of goal %s attempt %s not written, the database is unreachable: %s",
                           self.goal_id, self.attempt, exc, extra=goal_extra(self.goal_id, self.kind, self.attempt))
            return
        self._last_write = time.monotonic()
        if changed == 0:
            raise GoalNoLongerRunning(self.goal_id, self.attempt)

    def _update(self) -> int:
        return store.report_progress(goal_id=self.goal_id, attempt=self.attempt, current=self.progress_current,
                                     total=self.progress_total, message=self.progress_message)


def _check_continuation(method: str, then: str | None) -> None:
    """A wait's ``then`` names a registered executor (the next attempt runs it), or is None (this one)."""
    if then is None:
        return
    try:
        get_executor(then)
    except UnknownExecutor:
        raise ValueError(f"{method}(then={then!r}): no executor is registered for it") from None
