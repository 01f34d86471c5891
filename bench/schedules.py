"""A schedule every 2 s under several beats: exactly one goal per period, none missing, none twice.

    make bench    # or: .venv/bin/python bench/schedules.py [--minutes 10] [--beats 3] [--workers 2] [--every 2]

In a throwaway database ``goaltrack_bench``: ``--beats`` ``celery beat`` processes with django-celery-beat's
database scheduler (each sends ``goals: release`` every 5 s, and the reconciler's pass every minute) and
``--workers`` workers (prefork, 2 children each) that run them and the goals. One schedule gives a no-op
goal every ``--every`` seconds for ``--minutes``. Then, for the periods whose start fell inside the run
(from the first period given a goal to the last one due before the end): how many periods, how many goals,
periods with no goal, periods with two, and how late the goals started (``started_at`` minus the period's
start). Halfway, one beat is stopped for ten periods and started again, as a restart does.

DATABASE_URL names the server; CELERY_BROKER_URL the broker (default Redis on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from stack import bench_database, percentiles, start_beat, start_worker, stop

if TYPE_CHECKING:
    from goals.models import Schedule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--beats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--every", type=float, default=2)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-schedules-"))
    with bench_database():
        from goals.api import define_schedule

        workers = [start_worker(logs / f"worker-{n}.log", f"bench-{n}") for n in range(args.workers)]
        beats = [start_beat(logs / f"beat-{n}.log") for n in range(args.beats)]
        try:
            schedule = define_schedule("bench.every", "bench.deferred", every=args.every, catch_up="all",
                                       catch_up_limit=100)
            began = time.monotonic()
            time.sleep(args.minutes * 30)
            stop(beats[0])
            time.sleep(10 * args.every)
            beats[0] = start_beat(logs / "beat-0-again.log")
            time.sleep(max(0.0, args.minutes * 60 - (time.monotonic() - began)))
            report(schedule, args.every, time.monotonic() - began)
        finally:
            for process in [*beats, *workers]:
                stop(process)
    print(f"logs: {logs}")


def report(schedule: Schedule, every: float, seconds: float) -> None:
    from django.utils import timezone

    from goals.models import Goal
    from goals.periodic.periods import calendar_of, period_of

    goals = list(Goal.objects.filter(schedule=schedule))
    by_period: dict = {}
    for goal in goals:
        by_period.setdefault(period_of(goal), []).append(goal)
    calendar = calendar_of(schedule)
    first = min(by_period)
    # Periods due before now minus a grace for the last ones to be given and started.
    expected = calendar.between(first - timedelta(microseconds=1), timezone.now() - timedelta(seconds=10),
                                limit=100_000)
    missing = [p for p in expected if p not in by_period]
    doubled = [p for p, found in by_period.items() if len(found) > 1]
    lateness = [(found[0].started_at - p).total_seconds() for p, found in by_period.items()
                if p in set(expected) and found[0].started_at]
    print(f"schedule every {every:g} s for {seconds / 60:.1f} min, one beat stopped for 10 periods halfway:")
    print(f"  periods {len(expected)}, goals {sum(len(by_period.get(p, [])) for p in expected)}, "
          f"missing {len(missing)}, twice {len(doubled)}")
    print(f"  started after the period's start: {percentiles(lateness)}")


if __name__ == "__main__":
    main()
