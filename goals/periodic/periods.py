"""Giving each period of each schedule its one goal, and what people do to schedules.

A period's goal is keyed by its schedule and its start (``period_key``): the unique (kind, idempotency key)
of the goal table makes a second goal for the same period impossible, whatever the number of beats,
releasers or people triggering it, so exactly-once does not rest on a single process ticking.

Beat's release (every ``GOALS_RELEASE_INTERVAL`` seconds, ``goals.submitting.release``) calls
``give_periods`` first. It takes the schedules whose next period starts before the release's look-ahead
ends, each locked ``SKIP LOCKED`` in a transaction of its own (two releasers share the schedules), gives
each of those periods its goal, scheduled at the period's start, so the release timers start it on time,
and moves the schedule's ``next_period`` on. Periods that began more than ``GOALS_SCHEDULE_GRACE`` seconds
ago were missed (nothing ran): the schedule's catch-up policy says which of them still get a goal (none,
the latest, or all up to ``catch_up_limit``, the most recent ones), and the others are journaled as skipped.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from goals.conf import goal_settings
from goals.exceptions import GoalValidationError
from goals.executors.validation import validate_submission
from goals.models import CatchUp, Cause, Goal, Schedule, ScheduleEvent
from goals.periodic.calendar import Calendar, CalendarError
from goals.submitting.submit import goal_submit

logger = logging.getLogger(__name__)

# Schedules given their periods per releaser run, and periods per schedule: a run never grows unbounded.
SCHEDULES_PER_RUN = 500
PERIODS_PER_SCHEDULE = 1_000
# How far skipped periods are counted for the journal (an every-second schedule stopped for a year).
SKIPPED_COUNTED = 100_000
_INSTANT = timedelta(microseconds=1)


def period_key(schedule: Schedule, start: datetime) -> str:
    """The idempotency key of the goal of ``schedule``'s period starting at ``start``: its identity."""
    return f"schedule:{schedule.pk}:{start.astimezone(UTC).isoformat()}"


def period_of(goal: Goal) -> datetime | None:
    """The start of the period a schedule's goal is for (its key says it), or None for any other goal."""
    if goal.schedule_id is None or not goal.idempotency_key:
        return None
    return datetime.fromisoformat(goal.idempotency_key.split(":", 2)[2])


def calendar_of(schedule: Schedule) -> Calendar:
    return Calendar.of(crontab=schedule.crontab, every=schedule.every, timezone=schedule.timezone,
                       anchor=_anchor(schedule))


def _anchor(schedule: Schedule) -> datetime | None:
    """Where an interval counts from: a whole minute, so ``every=60`` starts on the minute."""
    created = schedule.created_at or timezone.now()
    return created.replace(second=0, microsecond=0)


def give_periods(*, now: datetime | None = None) -> int:
    """Give every due period of every schedule not paused its goal; returns how many goals were created."""
    now = now or timezone.now()
    horizon = now + timedelta(seconds=goal_settings().release_interval + 1.0)
    due = list(Schedule.objects.filter(paused=False, next_period__lte=horizon)
               .order_by("next_period").values_list("pk", flat=True)[:SCHEDULES_PER_RUN])
    created = 0
    for pk in due:
        with transaction.atomic():
            schedule = Schedule.objects.select_for_update(skip_locked=True).filter(
                pk=pk, paused=False, next_period__lte=horizon).first()
            if schedule is not None:
                created += _give(schedule, now=now, horizon=horizon)
    return created


def _give(schedule: Schedule, *, now: datetime, horizon: datetime) -> int:
    """One schedule's due periods, in the caller's transaction holding its row."""
    try:
        calendar = calendar_of(schedule)
    except CalendarError as exc:
        logger.error("schedule %s cannot give periods: %s", schedule.name, exc)
        return 0
    cut = now - timedelta(seconds=goal_settings().schedule_grace)
    first: datetime = schedule.next_period  # type: ignore[assignment]  (the query asked for one)
    kept: list[datetime] = []
    if first < cut:
        kept = _caught_up(schedule, calendar, first, cut)
        upcoming_from = max(cut, first)
    else:
        upcoming_from = first
    upcoming = calendar.between(upcoming_from - _INSTANT, horizon, limit=PERIODS_PER_SCHEDULE)
    created = 0
    for start in [*kept, *upcoming]:
        try:
            _goal, new = give(schedule, start, actor=f"schedule {schedule.name}")
        except GoalValidationError as exc:
            # Its executor changed under it: said once per run, the schedule left where it is.
            logger.error("schedule %s: its goal for %s is refused: %s", schedule.name, start.isoformat(), exc)
            return created
        created += new
    covered = upcoming[-1] if len(upcoming) == PERIODS_PER_SCHEDULE else max(horizon, first)
    given = [*kept, *upcoming]
    Schedule.objects.filter(pk=schedule.pk).update(
        next_period=calendar.next_after(covered),
        last_period=given[-1] if given else schedule.last_period)
    return created


def _caught_up(schedule: Schedule, calendar: Calendar, first: datetime, cut: datetime) -> list[datetime]:
    """The missed periods (from ``first``, before ``cut``) that the catch-up policy still gives a goal,
    oldest first; the rest are journaled as skipped, the kept ones as caught up."""
    keep = {CatchUp.NONE: 0, CatchUp.LATEST: 1, CatchUp.ALL: schedule.catch_up_limit}[CatchUp(schedule.catch_up)]
    kept: list[datetime] = []
    start = calendar.previous_before(cut)
    while start is not None and start >= first and len(kept) < keep:
        kept.insert(0, start)
        start = calendar.previous_before(start)
    missed = calendar.between(first - _INSTANT, cut - _INSTANT, limit=SKIPPED_COUNTED)
    skipped = [start for start in missed if start not in kept]
    if skipped:
        ScheduleEvent.objects.create(schedule=schedule, event=ScheduleEvent.Event.SKIPPED, period=skipped[0],
                                     count=len(skipped), details={"last": skipped[-1].isoformat(),
                                                                  "catch_up": schedule.catch_up,
                                                                  "counted_up_to": SKIPPED_COUNTED})
    if kept:
        ScheduleEvent.objects.create(schedule=schedule, event=ScheduleEvent.Event.CAUGHT_UP, period=kept[0],
                                     count=len(kept), details={"last": kept[-1].isoformat(),
                                                               "catch_up": schedule.catch_up})
    return kept


def give(schedule: Schedule, start: datetime, *, actor: str) -> tuple[Goal, bool]:
    """The goal of ``schedule``'s period starting at ``start`` (scheduled until then, or sent now if that
    has passed): created once, returned as it is after that."""
    return goal_submit(kind=schedule.kind, params=schedule.params, idempotency_key=period_key(schedule, start),
                       owner=schedule.owner_id, run_after=start, cause=Cause.SCHEDULE, actor=actor,
                       schedule_id=schedule.pk)


def check(*, kind: str, params: dict[str, Any] | None, crontab: str, every: float | None, timezone_name: str,
          catch_up: str, catch_up_limit: Any) -> None:
    """What a schedule must be to give goals; raises ``GoalValidationError`` naming each field at fault."""
    problems: dict[str, str] = {}
    try:
        Calendar.of(crontab=crontab, every=every, timezone=timezone_name)
    except CalendarError as exc:
        problems[exc.field] = str(exc)
    if catch_up not in CatchUp.values:
        problems["catch_up"] = f"must be one of {', '.join(CatchUp.values)}"
    if isinstance(catch_up_limit, bool) or not isinstance(catch_up_limit, int) or catch_up_limit < 1:
        problems["catch_up_limit"] = "must be a whole number, 1 or more"
    if problems:
        raise GoalValidationError(problems, code="invalid")
    validate_submission(kind, params)  # the periods' goals would be refused


def define(*, name: str, kind: str, params: dict[str, Any] | None = None, crontab: str = "",
           every: float | None = None, timezone_name: str = "UTC", catch_up: str = CatchUp.LATEST,
           catch_up_limit: int = 10, owner: Any = None, actor: str = "") -> Schedule:
    """Create the schedule ``name``, or bring it in line with these values; whether a person paused it is
    kept. Raises ``GoalValidationError`` naming the field at fault; nothing is written then."""
    if not name or len(name) > 100:
        raise GoalValidationError({"name": "must be 1 to 100 characters"}, code="invalid")
    check(kind=kind, params=params, crontab=crontab, every=every, timezone_name=timezone_name, catch_up=catch_up,
          catch_up_limit=catch_up_limit)
    values = {"kind": kind, "params": params or {}, "crontab": crontab.strip(), "every": every,
              "timezone": timezone_name, "catch_up": catch_up, "catch_up_limit": catch_up_limit,
              "owner_id": getattr(owner, "pk", owner)}
    with transaction.atomic():
        schedule = Schedule.objects.select_for_update().filter(name=name).first()
        if schedule is None:
            schedule = Schedule.objects.create(name=name, **values, next_period=None)
            _restart(schedule)
            ScheduleEvent.objects.create(schedule=schedule, event=ScheduleEvent.Event.CREATED, actor=actor,
                                         period=schedule.next_period)
            return schedule
        changed = {field: value for field, value in values.items() if getattr(schedule, field) != value}
        if changed:
            Schedule.objects.filter(pk=schedule.pk).update(**changed)
            schedule.refresh_from_db()
            if {"crontab", "every", "timezone"} & set(changed):
                _restart(schedule)  # the next period of the new calendar, from now
            ScheduleEvent.objects.create(schedule=schedule, event=ScheduleEvent.Event.CHANGED, actor=actor,
                                         details={"fields": sorted(changed)})
    return schedule


def _restart(schedule: Schedule) -> None:
    """Periods from now on: the next one after now (those before are not the schedule's to give)."""
    schedule.next_period = calendar_of(schedule).next_after(timezone.now())
    Schedule.objects.filter(pk=schedule.pk).update(next_period=schedule.next_period)


def pause(schedule: Schedule, *, actor: str, reason: str = "") -> bool:
    """Stop giving goals; False if it was paused already."""
    with transaction.atomic():
        if not Schedule.objects.filter(pk=schedule.pk, paused=False).update(paused=True):
            return False
        ScheduleEvent.objects.create(schedule=schedule, event=ScheduleEvent.Event.PAUSED, actor=actor,
                                     details={"reason": reason} if reason else {})
    return True


def resume(schedule: Schedule, *, actor: str) -> bool:
    """Give goals again, from the next period on: the periods it was paused for are not caught up."""
    with transaction.atomic():
        locked = Schedule.objects.select_for_update().get(pk=schedule.pk)
        if not locked.paused:
            return False
        skipped_from = locked.next_period
        _restart(locked)
        Schedule.objects.filter(pk=locked.pk).update(paused=False)
        ScheduleEvent.objects.create(schedule=locked, event=ScheduleEvent.Event.RESUMED, actor=actor,
                                     period=locked.next_period,
                                     details={"paused_from": skipped_from.isoformat() if skipped_from else None})
    return True


def trigger(schedule: Schedule, *, actor: str, period: datetime | None = None) -> tuple[Goal, bool]:
    """Give a period its goal by hand: ``period`` (a start of the schedule's), or the latest that has
    begun. A period that has its goal already gets no second one: that goal is returned, ``created`` False.
    Raises ``GoalValidationError`` for a time that is not one of the schedule's period starts."""
    calendar = calendar_of(schedule)
    now = timezone.now()
    if period is None:
        period = calendar.previous_before(now + _INSTANT)
        if period is None:
            raise GoalValidationError({"period": "the schedule has no period that has begun"}, code="invalid")
    elif timezone.is_naive(period) or calendar.next_after(period - _INSTANT) != period:
        raise GoalValidationError({"period": f"{period.isoformat()} is not the start of one of its periods"},
                                  code="invalid")
    with transaction.atomic():
        goal, created = give(schedule, period, actor=actor)
        Schedule.objects.filter(Q(last_period__isnull=True) | Q(last_period__lt=period), pk=schedule.pk).update(
            last_period=period)
        ScheduleEvent.objects.create(schedule=schedule, event=ScheduleEvent.Event.TRIGGERED, period=period,
                                     actor=actor, details={"goal": str(goal.pk), "created": created})
    return goal, created
