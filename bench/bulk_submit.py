"""Bulk submit: ``submit_many`` of 100,000 goals against a ``submit()`` loop and a Celery group, one run.

    make bench    # or: .venv/bin/python bench/bulk_submit.py [--n 100000] [--loop-n 10000] [--runs 3]

Each round, in this order, on an empty goal table of a throwaway database ``goaltrack_bench``:

- ``submit_many``: the seconds until the call returns (the goals, attempts and journal rows committed),
  then until every goal reads ``queued`` (published by the sender thread and marked, a chunk at a time);
- the ``submit()`` loop: ``--loop-n`` calls, one commit each, as goals per second (a loop's cost per goal
  does not depend on its length, so a shorter loop keeps the run short; the ratio is of rates);
- ``group(...).apply_async()`` of N plain Celery tasks with the django-db result backend: the seconds
  until the call returns (every task published; that backend writes nothing at send time).

Rounds are interleaved and the medians taken; ratios are of medians from the same run. Nothing consumes
the queue (``bench-<pid>``); it is purged after each step and deleted at the end. DATABASE_URL names the
server, CELERY_BROKER_URL the broker (default Redis on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any

from fill import BENCH_DB, ROOT, admin_sql, server_url

QUEUE = f"bench-{os.getpid()}"
KIND = "bench.bulk"


def register() -> Any:
    from celery import shared_task

    from goals.api import executor

    @executor(KIND, max_attempts=1, queue=QUEUE)
    def bulk(ctx: Any, *, account: int) -> None:
        return None

    @shared_task(name="bench.plain_account")
    def plain_account(account: int) -> None:
        return None

    return plain_account


def purge() -> int:
    from celery import current_app

    with current_app.connection_for_write() as conn:
        return conn.default_channel.queue_purge(QUEUE) or 0


def empty_tables() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE goals_goal, goals_attempt, goals_goalevent, goals_externalevent")


def count_queued() -> int:
    from goals.models import Goal

    return Goal.objects.filter(kind=KIND, state="queued").count()


def bulk_round(n: int) -> tuple[float, float]:
    """Seconds until ``submit_many`` returns, and from then until all its goals are queued."""
    from goals.api import submit_many

    params = [{"account": i} for i in range(n)]
    clock = time.perf_counter()
    submit_many(KIND, params)
    returned = time.perf_counter()
    while count_queued() < n:
        time.sleep(0.05)
    return returned - clock, time.perf_counter() - returned


def loop_round(n: int) -> float:
    """Goals per second of a ``submit()`` loop (sent by the sender thread as usual, drained after)."""
    from goals.api import submit
    from goals.submitting import sender

    clock = time.perf_counter()
    for i in range(n):
        submit(KIND, {"account": i})
    rate = n / (time.perf_counter() - clock)
    sender.send_held()
    return rate


def group_round(n: int, plain_account: Any) -> float:
    from celery import group

    signatures = group(plain_account.s(i).set(queue=QUEUE) for i in range(n))
    clock = time.perf_counter()
    signatures.apply_async()
    return time.perf_counter() - clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--loop-n", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    admin_sql(f"CREATE DATABASE {BENCH_DB}")
    os.environ.update(DATABASE_URL=server_url(BENCH_DB), DJANGO_SETTINGS_MODULE="config.settings.base")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    os.environ.setdefault("GOALS_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from goals.submitting import sender

    committed, queued, loop_rates, group_seconds = [], [], [], []
    try:
        call_command("migrate", verbosity=0)
        plain_account = register()
        bulk_round(1000), loop_round(100), group_round(1000, plain_account)  # warm-up
        for run in range(args.runs):
            empty_tables(), purge()
            returned, then_queued = bulk_round(args.n)
            committed.append(returned), queued.append(then_queued)
            empty_tables(), purge()
            loop_rates.append(loop_round(args.loop_n))
            empty_tables(), purge()
            group_seconds.append(group_round(args.n, plain_account))
            purge()
            print(f"  round {run + 1}: submit_many {returned:.2f}s, then all queued {then_queued:.2f}s;"
                  f" submit() loop {loop_rates[-1]:,.0f}/s; group().apply_async() {group_seconds[-1]:.2f}s")
    finally:
        sender.stop()
        purge()
        connections.close_all()
        admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    bulk_s, queued_s = statistics.median(committed), statistics.median(queued)
    loop_rate, group_s = statistics.median(loop_rates), statistics.median(group_seconds)
    print(f"\n{args.n:,} goals, median of {args.runs}:")
    print(f"  submit_many committed        {bulk_s:7.2f} s  ({args.n / bulk_s:,.0f} goals/s)")
    print(f"  then all queued              {queued_s:7.2f} s")
    print(f"  submit() loop ({args.loop_n:,})       {args.n / loop_rate:7.2f} s for {args.n:,} at {loop_rate:,.0f}/s"
          f"  -> submit_many x{args.n / bulk_s / loop_rate:.1f}")
    print(f"  group().apply_async()        {group_s:7.2f} s  -> submit_many x{group_s / bulk_s:.1f}")


if __name__ == "__main__":
    main()
