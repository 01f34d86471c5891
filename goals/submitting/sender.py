"""Sending committed goals from a thread of the process's own, in groups, so that the committing caller
does not wait for the broker or for the "queued" mark.

A goal is committed before its task is sent; once committed, ``pending`` already says "not known to be
sent", so nothing requires the caller to wait for the publish (as long as the broker round trip, about
as long as the commit) or for the "queued" mark written after it (a hint nobody waits on). ``send``
hands the attempt to one sender thread per process, which publishes the attempts it holds (up to
``SEND_CHUNK`` at a time) over one producer and records them queued in one fenced, journaled statement
(``goals.submitting.publish.publish_attempts``), then does the same for the rest and whatever arrived meanwhile:
group commit, with no added delay. The caller's wait for its commit and the sender's publishing overlap.
``send_many`` hands over a bulk submit's attempts the same way, all at once.

An attempt lost with its process (SIGKILL before the thread sent it) leaves the goal ``pending``, the
state it was in: the reconciler sends it after ``GOALS_RECONCILE_PENDING_GRACE``, exactly as for a crash
between commit and publish. A broker that is down costs the sender, not the callers: its first failure
journals ``publish_failed`` for everything held, in one write. ``GOALS_SEND_IN_BACKGROUND = False`` publishes
on the committing thread instead (``goals.submitting.publish.publish_attempt``), as does a sender holding too many.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading

from django.db import connection

from goals.conf import goal_settings
from goals.submitting.publish import Dispatch, publish_attempt, publish_attempts

logger = logging.getLogger(__name__)

# A caller finding this many attempts held sends its own on its thread: a broker or database slower than
# the callers slows them down rather than piling attempts up in memory. A bulk submit's attempts are held
# whole when less than this is held (the caller had them all in memory already).
MAX_HELD = 10_000
# Attempts published over one producer and recorded queued in one statement, so that a bulk submit's
# goals show ``queued`` a chunk at a time rather than all at the end.
SEND_CHUNK = 2_000
# The sender closes its database connection after this many idle seconds.
IDLE_CLOSE_SECONDS = 30.0


class _Sender:
    """One thread per process sending the held attempts; it starts with the first one."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.held: list[Dispatch] = []
        self.chunks_sent = 0  # how stop() tells a sender still getting through a bulk from a stuck one
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.stopped = threading.Event()

    def hold(self, dispatches: list[Dispatch]) -> bool:
        """Hold ``dispatches`` for the sender thread; False when it holds some already and would then hold
        more than ``MAX_HELD``."""
        with self.lock:
            if self.held and len(self.held) + len(dispatches) > MAX_HELD:
                return False
            self.held.extend(dispatches)
            if self.thread is None:
                self.stopped = threading.Event()
                self.thread = threading.Thread(target=self.run, args=(self.stopped,), name="goals-sender",
                                               daemon=True)
                self.thread.start()
        self.wake.set()
        return True

    def send_held(self) -> int:
        """Send one chunk of what is held; returns how many were taken. Once the broker fails, everything
        held is given up at once (journaled ``publish_failed``), for the reconciler to send."""
        with self.lock:
            chunk, self.held = self.held[:SEND_CHUNK], self.held[SEND_CHUNK:]
        if not chunk:
            return 0
        publish_attempts(dispatches=chunk, also_given_up=self.take_all)
        self.chunks_sent += 1
        return len(chunk)

    def take_all(self) -> list[Dispatch]:
        with self.lock:
            taken, self.held = self.held, []
        return taken

    def run(self, stopped: threading.Event) -> None:
        while True:
            woken = self.wake.wait(timeout=IDLE_CLOSE_SECONDS)
            self.wake.clear()
            try:
                while self.send_held():
                    pass
            except Exception:  # the thread must outlive any failure; the goals stay pending (see above)
                logger.warning("could not send or record held goals; the reconciler sends them later",
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
        if thread is None:
            return
        self.wake.set()
        # ``timeout`` bounds a wait with no progress, not a bulk's whole send.
        while True:
            chunks = self.chunks_sent
            thread.join(timeout)
            if not thread.is_alive() or self.chunks_sent == chunks:
                return


_sender = _Sender()


def _forget_after_fork() -> None:
    # A forked child starts with no sender thread; the attempts it inherited are its parent's to send.
    global _sender
    _sender = _Sender()


os.register_at_fork(after_in_child=_forget_after_fork)


def send(dispatch: Dispatch) -> None:
    """Send a committed goal's attempt: soon, from the sender thread, or now on this thread with
    ``GOALS_SEND_IN_BACKGROUND = False`` or when the sender holds too many."""
    if goal_settings().send_in_background and _sender.hold([dispatch]):
        return
    publish_attempt(goal_id=dispatch.goal_id, attempt=dispatch.attempt, task_id=dispatch.task_id,
                  kind=dispatch.kind)


def send_many(dispatches: list[Dispatch]) -> None:
    """Send committed goals' attempts as ``send`` does, together: held for the sender thread unless it
    holds too many already, else published on this thread, ``SEND_CHUNK`` at a time over one producer
    each (giving up the rest at the first broker failure, as the sender does)."""
    if not dispatches or (goal_settings().send_in_background and _sender.hold(dispatches)):
        return
    for start in range(0, len(dispatches), SEND_CHUNK):
        chunk, rest = dispatches[start:start + SEND_CHUNK], dispatches[start + SEND_CHUNK:]
        if len(publish_attempts(dispatches=chunk, also_given_up=lambda rest=rest: rest)) < len(chunk):
            return


def send_held() -> int:
    """Send what the sender holds now, on the calling thread; returns how many. For code (tests,
    scripts) that reads a goal's state right after submitting it."""
    total = 0
    while taken := _sender.send_held():
        total += taken
    return total


def stop(timeout: float = 10.0) -> None:
    """Let the sender thread send what it holds, close its database connection and end (a later ``send``
    starts it again). Runs at interpreter exit; call it before dropping the database it writes to."""
    _sender.stop(timeout)


atexit.register(stop)
