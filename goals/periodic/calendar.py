"""When a schedule's periods start: a crontab read in a time zone, or a fixed interval.

A crontab is a wall-clock rule, in Celery's syntax (``crontab.from_string``: minute, hour, day of month,
month, day of week, 0 = Sunday) and with Celery's meaning: a day matches when its day of the month *and*
its day of the week both do. Each period starts at a wall time of the schedule's time zone; around the
changes of daylight saving time:

- a wall time that does not exist that day (the hour skipped in spring, 02:30 in Europe/Paris) starts
  one skip later (03:30), once, and a period that maps onto one already there is the same period;
- a wall time that happens twice (the hour repeated in autumn) starts once, at its first occurrence.

An interval (``every`` seconds) is a fixed rhythm in absolute time, counted from the schedule's anchor,
and knows nothing of the time zone. The period's start, in UTC, is what names it: two processes that
compute the same period compute the same instant.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from celery.schedules import crontab

# How far a crontab is searched for its next start: every day of the month and week comes back within
# 28 years, but a rule that fires less often than every eight years is taken as one that never fires.
SEARCH_DAYS = 8 * 366


class CalendarError(ValueError):
    """A crontab, interval or time zone that cannot give periods; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def time_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError("timezone", f"unknown time zone {name!r} (an IANA name, e.g. Europe/Paris)") from exc


@dataclass(frozen=True)
class Calendar:
    """The starts of a schedule's periods: ``crontab`` in ``zone``, or every ``every`` seconds from ``anchor``."""

    crontab: str
    every: float | None
    zone: ZoneInfo
    anchor: datetime

    @classmethod
    def of(cls, *, crontab: str = "", every: float | None = None, timezone: str = "UTC",
           anchor: datetime | None = None) -> Calendar:
        """A checked calendar; raises ``CalendarError`` naming the field at fault."""
        if bool(crontab) == (every is not None):
            raise CalendarError("crontab", "give a crontab or an interval (every), one of them")
        calendar = cls(crontab=crontab.strip(), every=every, zone=time_zone(timezone),
                       anchor=anchor or datetime(2000, 1, 1, tzinfo=UTC))
        if every is not None:
            if isinstance(every, bool) or not isinstance(every, int | float) or not math.isfinite(every) or every < 1:
                raise CalendarError("every", "must be a number of seconds, 1 or more")
            return calendar
        calendar.rule()  # parses it, or says why not
        if calendar.next_after(datetime.now(UTC)) is None:
            raise CalendarError("crontab", f"{crontab!r} never fires (no such day within {SEARCH_DAYS // 366} years)")
        return calendar

    def rule(self) -> crontab:
        try:
            return crontab.from_string(self.crontab)
        except (ValueError, TypeError) as exc:
            raise CalendarError("crontab", f"{self.crontab!r} is not a crontab of five fields "
                                           f"(minute hour day-of-month month day-of-week): {exc}") from exc

    def next_after(self, after: datetime) -> datetime | None:
        """The first period start strictly after ``after``, or None if the crontab never fires again."""
        if self.every is not None:
            steps = math.floor((after - self.anchor).total_seconds() / self.every) + 1
            start = self.anchor + timedelta(seconds=steps * self.every)
            return start if start > after else start + timedelta(seconds=self.every)
        return next((start for start in self._starts(after, forward=True) if start > after), None)

    def previous_before(self, before: datetime) -> datetime | None:
        """The last period start strictly before ``before``, or None."""
        if self.every is not None:
            steps = math.ceil((before - self.anchor).total_seconds() / self.every) - 1
            start = self.anchor + timedelta(seconds=steps * self.every)
            return start if start < before else start - timedelta(seconds=self.every)
        return next((start for start in self._starts(before, forward=False) if start < before), None)

    def between(self, after: datetime, until: datetime, *, limit: int) -> list[datetime]:
        """Up to ``limit`` period starts in ``(after, until]``, oldest first."""
        starts: list[datetime] = []
        start = self.next_after(after)
        while start is not None and start <= until and len(starts) < limit:
            starts.append(start)
            start = self.next_after(start)
        return starts

    def _starts(self, around: datetime, *, forward: bool) -> Iterator[datetime]:
        """Crontab starts in UTC, day by day from the local day of ``around`` (with one day's margin),
        forward or backward. Within one day, the starts come in wall-time order; the caller keeps the first
        on the right side of ``around`` (a start pushed past a spring skip may repeat a later one)."""
        rule = self.rule()
        hours, minutes = sorted(rule.hour), sorted(rule.minute)
        if not forward:
            hours, minutes = hours[::-1], minutes[::-1]
        step = 1 if forward else -1
        first = around.astimezone(self.zone).date() - timedelta(days=step)
        for offset in range(SEARCH_DAYS):
            day = first + timedelta(days=offset * step)
            if not _matches(rule, day):
                continue
            for hour in hours:
                for minute in minutes:
                    yield _instant(day, hour, minute, self.zone)


def _matches(rule: crontab, day: date) -> bool:
    return (day.month in rule.month_of_year and day.day in rule.day_of_month
            and (day.weekday() + 1) % 7 in rule.day_of_week)


def _instant(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall time: its first occurrence when repeated; one skip later when skipped
    (``fold=0`` reads a skipped wall time with the offset from before the change)."""
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)
