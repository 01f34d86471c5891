"""Goals that start later: released when due, then sent like any other.

A goal submitted with ``run_after`` (or ``countdown``) waits as ``scheduled`` in PostgreSQL: no message in
a broker or a worker's memory, where a delay longer than Redis' visibility timeout is delivered twice. Beat
runs ``release_due_goals`` every ``GOALS_RELEASE_INTERVAL`` seconds (the ``goals: release`` entry): each
batch claims the due goals with ``SKIP LOCKED`` and moves them to ``pending`` at their attempt, in one
fenced statement (``move_goals``), so a second beat, a timer or a manual run shares the work and never
releases a goal twice; the sender publishes them once the batch commits. Each of beat's runs also sets
the timers that release the goals coming due before its next run at their time
(``goals.submitting.timers``). A release lost before it is published leaves the goal ``pending``, which
the reconciler sends after its grace period, as any goal not sent; a goal left scheduled past its time
(no beat running) is released by the reconciler (finding ``due_not_released``).
"""

from __future__ import annotations

from goals.actors import process_name
from goals.conf import goal_settings
from goals.lifecycle import store
from goals.lifecycle.states import RELEASE
from goals.models import Cause
from goals.submitting import timers
from goals.submitting.moves import move_claimed

# Goals released per transaction: one claim and one move each, whatever the number.
BATCH_SIZE = 1_000


def release_due_goals(*, look_ahead: bool = True, batch_size: int = BATCH_SIZE) -> int:
    """Release every scheduled goal whose start time has come, a batch per transaction; returns how many.
    With ``look_ahead`` (beat's runs), then set the timers that release the goals coming due before the
    next run (``goals.submitting.timers``)."""
    released = _release_due(batch_size)
    if look_ahead:
        # A second past the interval: beat's ticks drift a little, and a timer set twice releases nothing twice.
        timers.arm(store.coming_starts(within=goal_settings().release_interval + 1.0, tick=timers.TICK))
    return released


def _release_due(batch_size: int) -> int:
    return move_claimed(RELEASE, lambda limit: store.claim_due_goals(limit=limit), batch_size=batch_size,
                        cause=Cause.PUBLISHER, actor=process_name())
