"""What an executor gets as ``ctx``: its goal id, attempt number, and throttled progress reporting."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from uuid import UUID

from django.db import InterfaceError, OperationalError, connection

from goals.db import hot_cursor
from goals.exceptions import GoalNoLongerRunning
from goals.models import Goal
from goals.states import GoalState

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
    # The start transition stamped the heartbeat: the throttle window opens then.
    _last_write: float = field(default_factory=time.monotonic)

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
        except (OperationalError, InterfaceError) as exc:
            # Try again one interval later, on a fresh connection.
            self._last_write = time.monotonic()
            connection.close()
            logger.warning("progress of goal %s attempt %s not written, the database is unreachable: %s",
                           self.goal_id, self.attempt, exc)
            return
        self._last_write = time.monotonic()
        if changed == 0:
            raise GoalNoLongerRunning(self.goal_id, self.attempt)

    def _update(self) -> int:
        with hot_cursor() as cursor:
            # Progress and heartbeat lost in a database crash are harmless (the next write or the final
            # state carries them): the write need not wait for the disk.
            cursor.execute(
                f"WITH relaxed AS (SELECT set_config('synchronous_commit', 'off', true)) "
                f"UPDATE {Goal._meta.db_table} SET progress_current = %s, progress_total = %s, "
                "progress_message = %s, heartbeat_at = now() FROM relaxed "
                "WHERE id = %s AND attempt = %s AND state = %s",
                [self.progress_current, self.progress_total, self.progress_message, str(self.goal_id),
                 self.attempt, GoalState.RUNNING.value],
            )
            return cursor.rowcount
