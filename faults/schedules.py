"""Schedules with the only beat down for ten periods or more: when it comes back, each schedule's catch-up
policy gives exactly the goals it says, and the journal says which periods were caught up and which
skipped. Every period ends up with one goal or in one ``skipped`` entry, never both, never neither."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from faults.checks import verify
from faults.common import Outcome, count_goals, new_run, running, wait_all_final, wait_until
from faults.processes import Stage, Worker, beat, reconciler
from goals.api import define_schedule
from goals.models import Goal, Schedule, ScheduleEvent
from goals.periodic.periods import calendar_of, period_of

# One schedule per policy; "all" twice: with a limit above the missed periods, and below them.
POLICIES = {"none": ("none", 1), "latest": ("latest", 1), "all": ("all", 1000), "all-up-to-4": ("all", 4)}
_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class Ledger:
    """What one schedule's goals and journal say about its periods, from its first goal to its last."""

    periods: list[datetime]
    given: dict[datetime, int]
    skipped: list[datetime]
    caught_up: list[datetime]
    miscounted: int
    """Journal entries whose count differs from the periods they span."""

    @property
    def missed(self) -> list[datetime]:
        return sorted({*self.skipped, *self.caught_up})


def ledger_of(schedule: Schedule) -> Ledger:
    calendar = calendar_of(schedule)
    given: dict[datetime, int] = {}
    for goal in Goal.objects.filter(schedule=schedule):
        period = period_of(goal)
        given[period] = given.get(period, 0) + 1

    spans: dict[str, list[datetime]] = {ScheduleEvent.Event.SKIPPED: [], ScheduleEvent.Event.CAUGHT_UP: []}
    miscounted = 0
    for entry in ScheduleEvent.objects.filter(schedule=schedule, event__in=list(spans)).order_by("id"):
        periods = calendar.between(entry.period - _INSTANT, datetime.fromisoformat(entry.details["last"]),
                                   limit=100_000)
        miscounted += len(periods) != entry.count
        spans[entry.event].extend(periods)
    periods = calendar.between(min(given) - _INSTANT, max(given), limit=100_000) if given else []
    return Ledger(periods, given, spans[ScheduleEvent.Event.SKIPPED], spans[ScheduleEvent.Event.CAUGHT_UP],
                  miscounted)


def policy_problems(name: str, schedule: Schedule, ledger: Ledger, *, at_least: int) -> list[str]:
    """Where the goals and the journal of one schedule break its policy (empty when they keep it)."""
    problems = []
    skipped = set(ledger.skipped)
    neither = [p for p in ledger.periods if p not in ledger.given and p not in skipped]
    both = [p for p in ledger.periods if p in ledger.given and p in skipped]
    doubled = [p for p, goals in ledger.given.items() if goals > 1]
    goalless = [p for p in ledger.caught_up if p not in ledger.given]
    for label, found in (("periods with no goal and not journaled as skipped", neither),
                         ("periods with a goal and journaled as skipped", both), ("periods with two goals", doubled),
                         ("caught-up periods without their goal", goalless)):
        if found:
            problems.append(f"{name}: {len(found)} {label}, the first {found[0].isoformat()}")
    if ledger.miscounted:
        problems.append(f"{name}: {ledger.miscounted} journal entries whose count is not the periods they span")
    if len(ledger.missed) < at_least:
        problems.append(f"{name}: {len(ledger.missed)} periods missed, {at_least} expected while the beat was down")
    keep = {"none": 0, "latest": 1, "all": schedule.catch_up_limit}[schedule.catch_up]
    expected_caught = ledger.missed[len(ledger.missed) - min(keep, len(ledger.missed)):]
    if ledger.caught_up != expected_caught:
        problems.append(f"{name}: {len(ledger.caught_up)} periods caught up, {len(expected_caught)} expected "
                        f"(the most recent missed)")
    return problems


def schedule_catch_up(stage: Stage, *, every: float, missed: int, after: int = 5, timeout: float = 300) -> Outcome:
    """Four schedules every ``every`` seconds (catch-up none, latest, all, all up to 4) run by one beat, a
    worker and the reconciler; the beat SIGKILLed for long enough that ``missed`` periods or more pass
    beyond its look-ahead and the grace; then a new beat for ``after`` periods."""
    run = new_run("schedule-catch-up")
    grace = float(stage.timings["FAULTS_SCHEDULE_GRACE"])
    look_ahead = 5.0 + 1.0  # what a release gives ahead: GOALS_RELEASE_INTERVAL (its default) + 1 s
    queues = f"{stage.queue},{stage.queue}-default"
    schedules: dict[str, Schedule] = {}
    with running(Worker(stage, f"schedules-{run}", queues=queues), reconciler(stage)):
        first_beat = beat(stage, f"schedules-beat-a-{run}")
        with running(first_beat):
            for name, (policy, limit) in POLICIES.items():
                schedules[name] = define_schedule(f"{run}-{name}", "faults.effect", {"run": run, "policy": name},
                                                  every=every, catch_up=policy, catch_up_limit=limit)
            wait_until(lambda: all(Goal.objects.filter(schedule=s, state="succeeded").count() >= 3
                                   for s in schedules.values()), timeout=60)
            first_beat.kill()
        down_for = missed * every + grace + look_ahead + every
        killed_at = timezone.now()
        time.sleep(down_for)
        given_while_down = Goal.objects.filter(params__run=run, created_at__gt=killed_at).count()
        with running(beat(stage, f"schedules-beat-b-{run}")):
            back_at = timezone.now()
            wait_until(lambda: all(s.next_period and s.next_period > back_at + timedelta(seconds=after * every)
                                   for s in Schedule.objects.filter(pk__in=[s.pk for s in schedules.values()])),
                       timeout=60)
        for schedule in schedules.values():  # no beat now: nothing gives them goals any more
            schedule.refresh_from_db()
        total = count_goals(run)
        wait_all_final(run, total, timeout=timeout)
    verdict = verify(run)
    problems = [f"{given_while_down} goals given while no beat ran"] if given_while_down else []
    ledgers = {name: ledger_of(schedule) for name, schedule in schedules.items()}
    for name, ledger in ledgers.items():
        problems += policy_problems(name, schedules[name], ledger, at_least=missed)
    figures = {"every s": every, "beat down s": round(down_for, 1), "goals": total}
    for name, ledger in ledgers.items():
        figures[name] = (f"{len(ledger.periods)} periods, {len(ledger.missed)} missed, "
                         f"{len(ledger.caught_up)} caught up, {len(ledger.skipped)} skipped, "
                         f"{sum(ledger.given.values())} goals")
    figures["fewest missed"] = min(len(ledger.missed) for ledger in ledgers.values())
    # What the calendar and the journal say there must be: a goal for every period not skipped.
    expected = sum(len(ledger.periods) - len(ledger.skipped) for ledger in ledgers.values())
    return Outcome("beat down for ten periods: catch-up", verdict, expected_goals=expected, extra_problems=problems,
                   figures=figures)
