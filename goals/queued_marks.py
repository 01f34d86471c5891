"""Recording "queued" for published attempts off the publishing thread, in groups.

The "queued" mark (the ``enqueue`` transition) is a hint for the reconciler, written after the publish
succeeded; the publisher has nothing to wait for in it. Waiting cost a submit one more round trip per
goal, as long as the publish itself. So a publisher hands the mark to this process's writer thread and
returns: the writer writes every mark it holds in one set-based, fenced ``enqueue`` statement, then the
ones that arrived while it wrote, and so on (group commit: one mark per statement at low load, many
under load, never an added delay).

A mark lost with its process (SIGKILL, a database error) leaves the goal ``pending``, the state before
it; the reconciler sends it again after ``GOALS_RECONCILE_PENDING_GRACE`` and the duplicate is fenced
off by the worker's ``start``. ``GOALS_QUEUED_MARKS_IN_BACKGROUND = False`` writes each mark on the
publishing thread instead, as one statement per goal.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from uuid import UUID

from django.db import connection

from goals.conf import goal_settings
from goals.models import Cause
from goals.states import ENQUEUE
from goals.transitions import GoalMove, apply_transition, apply_transitions

logger = logging.getLogger(__name__)

# Marks held beyond this are written by the publishing thread itself: a database slower than the
# publishers slows them down rather than piling marks up in memory.
MAX_HELD = 10_000
# The writer closes its database connection after this many idle seconds.
IDLE_CLOSE_SECONDS = 30.0


class _Writer:
    """One thread per process writing the held marks; it starts with the first mark."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.held: list[GoalMove] = []
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.stopped = threading.Event()
        # The publisher's process name: the same for every mark a process holds.
        self.actor = ""

    def add(self, move: GoalMove, actor: str) -> bool:
        """Hold ``move`` for the writer thread; False when it holds too many already."""
        with self.lock:
            if len(self.held) >= MAX_HELD:
                return False
            self.held.append(move)
            self.actor = actor
            if self.thread is None:
                self.stopped = threading.Event()
                self.thread = threading.Thread(target=self.run, args=(self.stopped,), name="goals-queued-marks",
                                               daemon=True)
                self.thread.start()
        self.wake.set()
        return True

    def write(self) -> int:
        with self.lock:
            moves, self.held = self.held, []
        if moves:
            apply_transitions(ENQUEUE, moves, cause=Cause.PUBLISHER, actor=self.actor)
        return len(moves)

    def run(self, stopped: threading.Event) -> None:
        while True:
            woken = self.wake.wait(timeout=IDLE_CLOSE_SECONDS)
            self.wake.clear()
            try:
                while self.write():
                    pass
            except Exception:  # the thread must outlive any failure; the goals stay pending (see above)
                logger.warning("could not record goals as queued; the reconciler resends them if needed",
                               exc_info=True)
                connection.close()
            if stopped.is_set() or not woken:
                connection.close()
            if stopped.is_set():
                return

    def stop(self, timeout: float) -> None:
        with self.lock:
            thread, self.thread = self.thread, None
            self.stopped.set()
        if thread is not None:
            self.wake.set()
            thread.join(timeout)


_writer = _Writer()


def _forget_after_fork() -> None:
    # A forked child starts with no writer thread; the marks it inherited are its parent's to write.
    global _writer
    _writer = _Writer()


os.register_at_fork(after_in_child=_forget_after_fork)


def mark_queued(*, goal_id: UUID | str, attempt: int, actor: str) -> None:
    """Record that attempt ``attempt`` of the goal was published: soon, by the writer thread (or now,
    with ``GOALS_QUEUED_MARKS_IN_BACKGROUND = False`` or when the writer holds too many marks)."""
    move = GoalMove(goal_id=goal_id, attempt=attempt)
    if goal_settings().queued_marks_in_background and _writer.add(move, actor):
        return
    # Refused only if the worker already started it (or someone cancelled it): both are fine.
    apply_transition(ENQUEUE, goal_id=goal_id, attempt=attempt, cause=Cause.PUBLISHER, actor=actor)


def flush() -> int:
    """Write the marks this process holds now, on the calling thread; returns how many. For code (tests,
    scripts) that reads a goal's state right after submitting it."""
    return _writer.write()


def stop(timeout: float = 10.0) -> None:
    """Let the writer thread write what it holds, close its database connection and end (a later mark
    starts it again). Runs at interpreter exit; call it before dropping the database it writes to."""
    _writer.stop(timeout)


atexit.register(stop)
