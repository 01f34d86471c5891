"""Goals that start later: how late they start, and what waiting costs, with a real worker and a real beat.

    make bench    # or: .venv/bin/python bench/deferred.py [--lone 60] [--due 100000] [--waiting 100000]

In a throwaway database ``goaltrack_bench``, with goaltrack's default settings (release every 5 s, timers
per tenth of a second), one ``celery worker`` (prefork, 2 children) and one ``celery beat`` with
django-celery-beat's database scheduler, as the compose file runs them:

1. **A lone deferred goal.** ``--lone`` goals submitted one at a time, about half a second apart, each with a
   countdown drawn between 0.5 and 15 s: the short ones get their timer from their submit, the others
   from beat's look-ahead. Lateness is the goal's ``started_at`` (the worker ran it) minus its
   ``run_after``, and the same for its ``release`` journal row.
2. **Many due in the same minute.** ``--due`` goals, submitted in 600 ``submit_many`` calls whose start
   times step by a tenth of a second over one minute that begins once all are committed. Their kind's queue
   is not consumed, so this times the release alone: lateness is ``queued_at`` (published to the broker
   and recorded) minus ``run_after``, and how many were published within 60 s of their time. Running them
   is the worker's throughput, measured by ``throughput.py``.
3. **The cost of waiting.** ``--waiting`` goals scheduled a day ahead, and two minutes of the worker and beat
   (reconciler included) against the database: transactions committed and rows read, from
   ``pg_stat_database``, next to the same minute with no goal waiting; and the rows one reconciler pass
   reads, with and without them (a minute may hold no pass of beat's, or two).

DATABASE_URL names the server; CELERY_BROKER_URL the broker (default Redis on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from stack import bench_database, percentiles, start_beat, start_worker, stop, wait_until


def lone_goals(n: int) -> None:
    from goals.api import submit
    from goals.models import Goal, GoalEvent

    due = {}  # the final move clears run_after: kept here as the submit gave it
    for _ in range(n):
        goal = submit("bench.deferred", countdown=random.uniform(0.5, 15))
        due[goal.pk] = goal.run_after
        time.sleep(random.uniform(0.2, 0.8))
    wait_until(lambda: Goal.objects.filter(pk__in=due, state="succeeded").count() == n, 120, "lone goals")
    started = dict(Goal.objects.filter(pk__in=due).values_list("pk", "started_at"))
    released = dict(GoalEvent.objects.filter(goal_id__in=due, transition="release").values_list("goal_id",
                                                                                                 "created_at"))
    start_lateness = [(started[pk] - due[pk]).total_seconds() for pk in due]
    release_lateness = [(released[pk] - due[pk]).total_seconds() for pk in due]
    print(f"  {n} lone goals, countdown 0.5-15 s: start   {percentiles(start_lateness)}")
    print(f"  {'':34}release {percentiles(release_lateness)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lone", type=int, default=60)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--waiting", type=int, default=100_000)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-deferred-"))
    with bench_database():
        worker, beat = start_worker(logs / "worker.log"), start_beat(logs / "beat.log")
        try:
            run(args)
        finally:
            stop(beat), stop(worker)
    print(f"logs: {logs}")


def run(args: argparse.Namespace) -> None:
    print("deferred goals, default settings, one worker and one beat:")
    if args.lone:
        lone_goals(args.lone)
    if args.due:
        due_in_one_minute(args.due)
    if args.waiting:
        cost_of_waiting(args.waiting)


def due_in_one_minute(n: int) -> None:
    from django.utils import timezone

    from goals.api import submit_many
    from goals.models import Goal

    chunks = 600
    clock = time.perf_counter()
    first = timezone.now() + timedelta(seconds=30 + n / 5_000)
    for chunk in range(chunks):
        size = n // chunks + (chunk < n % chunks)
        submit_many("bench.parked", [{}] * size, run_after=first + timedelta(seconds=chunk / 10))
    committed = time.perf_counter() - clock
    if timezone.now() >= first:
        raise SystemExit(f"submitting {n:,} took {committed:.0f} s, past their first start time")
    wait_until(lambda: not Goal.objects.filter(kind="bench.parked", queued_at__isnull=True).exists(),
               (first - timezone.now()).total_seconds() + 60 + 300, "goals due in one minute")
    lateness = [(queued - after).total_seconds() for queued, after in
                Goal.objects.filter(kind="bench.parked").values_list("queued_at", "run_after")]
    within = sum(late <= 60 for late in lateness)
    print(f"  {n:,} due within one minute (committed in {committed:.0f} s): published "
          f"{percentiles(lateness)}; {within:,} of {n:,} within 60 s of their time")
    Goal.objects.filter(kind="bench.parked").delete()


def database_activity() -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT xact_commit, tup_returned + tup_fetched FROM pg_stat_database "
                       "WHERE datname = current_database()")
        return cursor.fetchone()


def one_minute() -> tuple[int, int]:
    before = database_activity()
    time.sleep(60)
    after = database_activity()
    return after[0] - before[0], after[1] - before[1]


def pass_rows() -> int:
    """Rows one reconciler pass reads, run here (the minute may hold no pass of beat's, or two)."""
    from goals.reconciler.passes import run_pass

    time.sleep(1)  # a backend's statistics reach pg_stat_database within a second of its last transaction
    before = database_activity()[1]
    run_pass(trigger="bench")
    time.sleep(1)
    return database_activity()[1] - before


def cost_of_waiting(n: int) -> None:
    from django.utils import timezone

    from goals.api import submit_many
    from goals.models import Goal

    idle, idle_pass = one_minute(), pass_rows()
    tomorrow = timezone.now() + timedelta(days=1)
    for start in range(0, n, 10_000):
        submit_many("bench.parked", [{}] * min(10_000, n - start), run_after=tomorrow)
    call_analyze()
    waiting, again, waiting_pass = one_minute(), one_minute(), pass_rows()
    assert Goal.objects.filter(state="scheduled").count() == n
    print(f"  one minute of worker and beat, nothing waiting: {idle[0]:,} transactions, {idle[1]:,} rows read")
    print(f"  one minute of worker and beat, {n:,} waiting:   {waiting[0]:,} transactions, {waiting[1]:,} rows read;"
          f" the next minute {again[0]:,} transactions, {again[1]:,} rows read")
    print(f"  one reconciler pass: {idle_pass:,} rows read with nothing waiting, {waiting_pass:,} with {n:,}")


def call_analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE goals_goal")


if __name__ == "__main__":
    main()
