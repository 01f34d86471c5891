"""Timers: short-delay task messages that release scheduled goals at their time, not at beat's next tick.

Beat's ``goals: release`` entry runs every ``GOALS_RELEASE_INTERVAL`` seconds; alone, it would start a
goal up to that long after its time. So each of its runs also looks ahead over the next interval
(``coming_starts``) and sets a timer, a ``goals.release`` message with an ETA, for every tenth of a second
in which some goal comes due; a submit, reschedule or long retry that starts a goal before beat's next look
does the same once it commits. A timer is only a wake-up: it claims what is due, fenced as every release,
so a duplicate or early timer releases nothing twice, and a lost one (a worker killed, a broker away)
leaves its goals to beat's next run, at most one interval late. A timer never looks ahead itself, so the
timers in flight stay bounded by the tenths of one interval, and its delay is shorter than the interval:
nothing waits in a worker's memory for longer (Redis' visibility timeout is hours away).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import partial

from celery import current_app
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from goals.conf import goal_settings
from goals.task_names import RELEASE_TASK

logger = logging.getLogger(__name__)

# Timers are set per tenth of a second: goals due within one share it.
TICK = 0.1


def due_tick(start: datetime) -> datetime:
    """The end of the tenth of a second ``start`` falls in: a timer then finds the goal due."""
    return datetime.fromtimestamp(math.ceil(start.timestamp() / TICK) * TICK, tz=UTC)


def arm_after_commit(starts: Iterable[datetime]) -> None:
    """Once the caller's transaction commits (at once outside one), set a timer for each start in ``starts``
    that comes before beat's next release could see it; later ones are beat's to find."""
    horizon = timezone.now() + timedelta(seconds=goal_settings().release_interval)
    times = sorted({due_tick(start) for start in starts if start <= horizon})
    if times:
        transaction.on_commit(partial(arm, times))


def arm(times: Iterable[datetime]) -> int:
    """Send one timer per time in ``times``; returns how many went out. A broker that is down costs the
    timers only: beat's next release starts their goals."""
    expires = timedelta(seconds=goal_settings().release_interval)
    sent = 0
    for at in times:
        try:
            # Routed as beat's release entry is, by the host's task_routes (else Celery's default queue).
            current_app.send_task(RELEASE_TASK, kwargs={"look_ahead": False}, eta=at, expires=at + expires,
                                  ignore_result=True)
        except BrokerError as exc:
            logger.warning("release timer for %s not sent, broker unreachable: %s; beat's next release "
                           "starts its goals", at.isoformat(), exc)
            break
        sent += 1
    return sent
