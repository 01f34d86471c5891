"""The public API of goaltrack: everything a host project calls.

In short::

    from goals.api import executor, submit

    @executor("reports.build", max_attempts=3, timeout=600)
    def build_report(ctx, *, month):
        for i, part in enumerate(parts(month)):
            render(part)
            ctx.progress(i + 1, len(parts), f"rendered {part}")
        return {"url": ...}

    goal = submit("reports.build", {"month": "2026-11"}, idempotency_key="report-2026-11")
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from goals.actors import person_name
from goals.exceptions import (
    GoalError,
    GoalNoLongerRunning,
    GoalNotFound,
    GoalValidationError,
    TransitionNotAllowed,
)
from goals.executors.limits import Concurrency, Rate
from goals.executors.registry import executor
from goals.families.children import ChildOutcome
from goals.lifecycle.fan_in import FAIL_FAST, WAIT_FOR_ALL, ChildPolicy, tolerate
from goals.models import CatchUp, Cause, Goal, KindControl, Schedule
from goals.periodic import periods
from goals.submitting import controls
from goals.submitting.people import goal_cancel, goal_reschedule, goal_retry
from goals.submitting.submit import goal_submit, goal_submit_many
from goals.waits import events
from goals.waits.events import SentEvent
from goals.worker.context import ExecutionContext

__all__ = [
    "FAIL_FAST",
    "WAIT_FOR_ALL",
    "CatchUp",
    "ChildOutcome",
    "ChildPolicy",
    "Concurrency",
    "ExecutionContext",
    "Goal",
    "GoalError",
    "GoalNoLongerRunning",
    "GoalNotFound",
    "GoalValidationError",
    "Rate",
    "Schedule",
    "SentEvent",
    "TransitionNotAllowed",
    "cancel",
    "define_schedule",
    "executor",
    "pause_kind",
    "pause_schedule",
    "reschedule",
    "resume_kind",
    "resume_schedule",
    "retry",
    "send_event",
    "set_concurrency",
    "set_rate",
    "submit",
    "submit_many",
    "tolerate",
    "trigger_schedule",
]


def submit(kind: str, params: dict[str, Any] | None = None, *, idempotency_key: str | None = None,
           owner: Any = None, deadline: datetime | None = None, run_after: datetime | None = None,
           countdown: float | None = None) -> Goal:
    """Record a goal of ``kind`` and send it to a worker once the current transaction commits.

    With ``run_after`` (an aware datetime) or ``countdown`` (seconds), a start still to come, the goal is
    committed ``scheduled`` and waits in the database until then (beat releases it); a ``deadline`` must
    come after that start."""
    goal, _created = goal_submit(kind=kind, params=params, idempotency_key=idempotency_key, owner=owner,
                                 deadline=deadline, run_after=run_after, countdown=countdown)
    return goal


def submit_many(kind: str, params_list: Sequence[dict[str, Any] | None], *,
                idempotency_keys: Sequence[str | None] | None = None, owner: Any = None,
                deadline: datetime | None = None, run_after: datetime | None = None,
                countdown: float | None = None) -> list[Goal]:
    """Record one goal of ``kind`` per params, in one statement per few thousand, and send them once the
    current transaction commits; returns the goals in order. Nothing is written unless every item is
    valid (one ``GoalValidationError`` names each bad item as ``<index>.<field>``); an item whose
    idempotency key was used before gets that goal. ``run_after`` and ``countdown`` start them later, as
    for ``submit``."""
    return [goal for goal, _created in goal_submit_many(kind=kind, params_list=params_list,
                                                        idempotency_keys=idempotency_keys, owner=owner,
                                                        deadline=deadline, run_after=run_after,
                                                        countdown=countdown)]


def cancel(goal_id: UUID | str, *, actor: Any = None, reason: str = "") -> Goal:
    """Cancel a goal that is not final; raises ``TransitionNotAllowed`` otherwise."""
    return goal_cancel(goal_id=goal_id, actor=person_name(actor), reason=reason, cause=Cause.API)


def retry(goal_id: UUID | str, *, actor: Any = None, reason: str = "") -> Goal:
    """Run a failed, cancelled or expired goal again as a new attempt."""
    return goal_retry(goal_id=goal_id, actor=person_name(actor), reason=reason, cause=Cause.API)


def reschedule(goal_id: UUID | str, *, run_after: datetime | None = None, countdown: float | None = None,
               actor: Any = None, reason: str = "") -> Goal:
    """Change when a goal that waits to start starts (journaled with ``actor``); a time already past starts
    it now. Raises ``TransitionNotAllowed`` once it no longer waits, ``GoalValidationError`` for a bad time or
    one not before its deadline."""
    return goal_reschedule(goal_id=goal_id, run_after=run_after, countdown=countdown, actor=person_name(actor),
                           reason=reason, cause=Cause.API)


def set_concurrency(kind: str, limit: int | None, *, actor: Any = None, reason: str = "") -> KindControl:
    """At most ``limit`` goals of ``kind`` running at once across every worker (per key, if its executor's
    ``concurrency`` gives a key), from the next start on, with no restart; ``None`` goes back to the
    executor's own. Goals running over a lowered limit finish; a raised one admits held goals at once.
    Raises ``GoalValidationError`` for an unknown kind or a limit that is not a positive integer."""
    return controls.set_concurrency(kind=kind, limit=limit, actor=person_name(actor), cause=Cause.API, reason=reason)


def set_rate(kind: str, rate: str | Rate | None, *, actor: Any = None, reason: str = "") -> KindControl:
    """At most ``rate`` starts of ``kind`` per period (``"100/m"``, or ``Rate(100, "minute")``), per key if its
    executor's ``rate`` gives a key, evenly spaced, from the next start on, with no restart; ``None`` goes back
    to the executor's own. Raises ``GoalValidationError`` for an unknown kind or a rate it cannot read."""
    return controls.set_rate(kind=kind, rate=rate, actor=person_name(actor), reason=reason)


def pause_kind(kind: str, *, reason: str, actor: Any = None) -> bool:
    """Stop goals of ``kind`` from starting, on every worker, without stopping the workers (journaled with
    ``actor`` and ``reason``): each one a worker takes is held, holding no worker and spending no attempt;
    those running finish. Returns False if it was paused already. Raises ``GoalValidationError`` for an unknown
    kind or an empty reason."""
    return controls.pause(kind=kind, actor=person_name(actor), reason=reason)


def resume_kind(kind: str, *, actor: Any = None, reason: str = "") -> int:
    """Let goals of ``kind`` start again, and send the goals held for its pause, oldest first; returns how many
    were held (0 if it was not paused)."""
    return controls.resume(kind=kind, actor=person_name(actor), cause=Cause.API, reason=reason)


def define_schedule(name: str, kind: str, params: dict[str, Any] | None = None, *, crontab: str = "",
                    every: float | None = None, timezone: str = "UTC", catch_up: str = CatchUp.LATEST,
                    catch_up_limit: int = 10, owner: Any = None, actor: Any = None) -> Schedule:
    """A goal of ``kind`` with ``params`` every period, exactly once per period: ``crontab`` (Celery's
    five fields, read in ``timezone``) or ``every`` seconds. Creates the schedule ``name`` or brings it in
    line (a pause a person made is kept): call it from a data migration to ship a schedule with the code.
    ``catch_up`` says what the periods missed while nothing ran get: ``none``, the ``latest``, or ``all``
    of them up to ``catch_up_limit``. Raises ``GoalValidationError`` naming the field at fault."""
    return periods.define(name=name, kind=kind, params=params, crontab=crontab, every=every, timezone_name=timezone,
                          catch_up=catch_up, catch_up_limit=catch_up_limit, owner=owner, actor=person_name(actor))


def pause_schedule(name: str, *, actor: Any = None, reason: str = "") -> Schedule:
    """Stop schedule ``name`` from giving goals (journaled); the goals it gave already are not touched."""
    schedule = Schedule.objects.get(name=name)
    periods.pause(schedule, actor=person_name(actor), reason=reason)
    return Schedule.objects.get(pk=schedule.pk)


def resume_schedule(name: str, *, actor: Any = None) -> Schedule:
    """Give goals again from the next period on; the periods paused over are not caught up."""
    schedule = Schedule.objects.get(name=name)
    periods.resume(schedule, actor=person_name(actor))
    return Schedule.objects.get(pk=schedule.pk)


def trigger_schedule(name: str, *, period: datetime | None = None, actor: Any = None) -> tuple[Goal, bool]:
    """Give a period of schedule ``name`` its goal now, by hand (journaled with ``actor``): ``period`` (one of
    its starts) or the latest that has begun. A period's goal is never made twice: if it has one, that goal
    is returned with ``created`` False."""
    return periods.trigger(Schedule.objects.get(name=name), actor=person_name(actor), period=period)


def send_event(name: str, payload: Any = None, *, key: str | None = None, goal_id: UUID | str | None = None,
               event_key: str | None = None, actor: Any = None) -> SentEvent:
    """Send the outside event ``name`` with ``payload`` (JSON) to the goal waiting for it: by the correlation
    ``key`` its wait declared, or by ``goal_id``; one of them. A goal not waiting yet takes it when it
    begins to wait; a goal takes an event once, and an event resumes one goal. ``event_key`` (a webhook's
    delivery id) makes a retry the same event. Returns the event's id, whether it was a duplicate, and the
    goal it resumed, if any. Raises ``GoalValidationError`` naming the field, ``GoalNotFound`` for an unknown
    ``goal_id``."""
    return events.send_event(name=name, payload=payload, key=key, goal_id=goal_id, event_key=event_key,
                             owner_id=None, actor=person_name(actor))
