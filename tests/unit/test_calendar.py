"""When a schedule's periods start: crontabs in a time zone across daylight saving time, and intervals."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from goals.periodic.calendar import Calendar, CalendarError


def starts(calendar: Calendar, after: datetime, count: int) -> list[str]:
    found, at = [], after
    for _ in range(count):
        at = calendar.next_after(at)
        found.append(at.astimezone(calendar.zone).strftime("%m-%d %H:%M%z"))
    return found


def test_a_daily_crontab_runs_at_its_wall_time_and_once_on_each_change_of_daylight_saving_time():
    nightly = Calendar.of(crontab="30 2 * * *", timezone="Europe/Paris")
    # Spring: 02:30 does not exist on 29 March 2026; it runs one skip later, once.
    assert starts(nightly, datetime(2026, 3, 28, 12, tzinfo=UTC), 3) == [
        "03-29 03:30+0200", "03-30 02:30+0200", "03-31 02:30+0200"]
    # Autumn: 02:30 happens twice on 25 October 2026; it runs at the first.
    assert starts(nightly, datetime(2026, 10, 24, 12, tzinfo=UTC), 3) == [
        "10-25 02:30+0200", "10-26 02:30+0100", "10-27 02:30+0100"]


def test_wall_times_skipped_in_spring_that_land_on_existing_ones_are_the_same_periods():
    twice_an_hour = Calendar.of(crontab="*/30 2,3 * * *", timezone="Europe/Paris")
    assert starts(twice_an_hour, datetime(2026, 3, 28, 23, tzinfo=UTC), 4) == [
        "03-29 03:00+0200", "03-29 03:30+0200", "03-30 02:00+0200", "03-30 02:30+0200"]


def test_an_interval_keeps_its_rhythm_in_absolute_time_whatever_the_zone():
    every = Calendar.of(every=3600, timezone="Europe/Paris", anchor=datetime(2026, 10, 25, 0, tzinfo=UTC))
    instants = [every.next_after(datetime(2026, 10, 25, 0, 30, tzinfo=UTC) + timedelta(hours=h)) for h in range(3)]
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(instants)] == [3600, 3600]
    assert every.previous_before(datetime(2026, 10, 25, 2, tzinfo=UTC)) == datetime(2026, 10, 25, 1, tzinfo=UTC)


def test_previous_and_between_agree_with_next():
    quarterly = Calendar.of(crontab="*/15 * * * *", timezone="America/New_York")
    after = datetime(2026, 11, 2, 5, 7, tzinfo=UTC)
    between = quarterly.between(after, after + timedelta(hours=1), limit=10)
    assert len(between) == 4
    assert between[0] == quarterly.next_after(after)
    assert quarterly.previous_before(between[1]) == between[0]
    assert quarterly.between(after, after + timedelta(hours=1), limit=2) == between[:2]


def test_day_of_month_and_day_of_week_must_both_match_as_in_celerys_crontab():
    friday_13th = Calendar.of(crontab="0 9 13 * 5", timezone="UTC")
    start = friday_13th.next_after(datetime(2026, 1, 1, tzinfo=UTC))
    assert (start.day, start.weekday(), start.hour) == (13, 4, 9)


@pytest.mark.parametrize(("options", "field"), [
    ({"crontab": "0 2 30 2 *"}, "crontab"),     # 30 February: never fires
    ({"crontab": "61 * * * *"}, "crontab"),
    ({"crontab": "every night"}, "crontab"),
    ({"crontab": "0 2 * * *", "timezone": "Mars/Olympus"}, "timezone"),
    ({"crontab": "0 2 * * *", "every": 60}, "crontab"),
    ({}, "crontab"),
    ({"every": 0}, "every"),
    ({"every": float("nan")}, "every"),
    ({"every": "60"}, "every"),
])
def test_a_calendar_that_cannot_give_periods_names_its_field(options, field):
    with pytest.raises(CalendarError) as refused:
        Calendar.of(**options)
    assert refused.value.field == field


def test_a_wall_clock_crontab_does_not_run_the_repeated_hour_a_second_time():
    """On 1 November 2026 New York's 01:00-02:00 happens twice: every 15 minutes runs the first pass only,
    so its periods leave an hour with none (an interval keeps its rhythm instead)."""
    quarterly = Calendar.of(crontab="*/15 * * * *", timezone="America/New_York")
    after = datetime(2026, 11, 1, 5, 40, tzinfo=UTC)  # 01:40 EDT, the first pass
    assert starts(quarterly, after, 2) == ["11-01 01:45-0400", "11-01 02:00-0500"]
