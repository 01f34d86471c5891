"""How one reconciler pass scales with history: 100k vs 1M goals, 1% active, 0.1% anomalies.

The reconciler claims to be bounded by the active set, never by history (goals.reconciler.detect). This
builds each size with set-based SQL in a throwaway database ``goaltrack_bench`` (dropped at the end),
times a repairing pass and a dry run, and prints both sizes side by side. Anomalies (stalled, lost in
queue, overdue, lost callback) are re-dispatched to a queue of this process's own, deleted at the end.

    make bench    # or: .venv/bin/python bench/reconcile_scale.py [--sizes 100000 1000000]

DATABASE_URL names the server (default postgres://postgres@127.0.0.1:5432/goaltrack; only its server is
used), CELERY_BROKER_URL the broker (default redis://127.0.0.1:6379/0).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from datetime import datetime
from typing import Any

from fill import BENCH_DB, ROOT, admin_sql, build, server_url

QUEUE = f"bench-{os.getpid()}"

def register_executor() -> None:
    from goals.api import executor

    @executor("bench.noop", max_attempts=3, queue=QUEUE)
    def noop(ctx: Any) -> None:
        return None


def asyncresult_loop() -> tuple[int, float]:
    """What a reconciler built on Celery's answer does: ``AsyncResult(task_id).state`` per active goal.

    Returns (goals checked, seconds). Each check is one read of django-celery-results' table.
    """
    from celery.result import AsyncResult

    from goals.models import Goal

    task_ids = list(Goal.objects.active().values_list("task_id", flat=True))
    clock = time.perf_counter()
    states = [AsyncResult(task_id).state for task_id in task_ids]
    return len(states), time.perf_counter() - clock


def classification(now: datetime) -> float:
    """Seconds to classify every active goal as a pass does (its detection statements, batch by batch,
    nothing locked, no report built): what the AsyncResult loop does, one goal at a time."""
    import uuid

    from goals.conf import goal_settings
    from goals.reconciler import detect

    config, after, clock = goal_settings(), uuid.UUID(int=0), time.perf_counter()
    while True:
        batch = detect.active_candidates(config=config, now=now, after=after, limit=config.reconcile_batch_size,
                                         lock=False)
        if len(batch) < config.reconcile_batch_size:
            return time.perf_counter() - clock
        after = batch[-1].goal_id


def timed_pass(now: datetime, *, dry_run: bool) -> tuple[float, int, dict[str, int]]:
    from goals.reconciler.passes import run_pass

    clock = time.perf_counter()
    report, findings = run_pass(trigger="bench", dry_run=dry_run, now=now)
    return time.perf_counter() - clock, len(findings), {str(k): v for k, v in sorted(report.actions_by_kind.items())}


def purge_queue() -> int:
    from celery import current_app
    from kombu import Exchange, Queue

    with current_app.connection_for_write() as conn:
        queue = Queue(QUEUE, Exchange(QUEUE), QUEUE)(conn.default_channel)
        queue.declare()  # so that delete() also removes the binding the publishes created
        purged = queue.purge() or 0
        queue.delete()
    return purged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--active", type=int, help="active goals at every size (default: 1%% of each size); "
                        "the same number at every size isolates what history alone costs")
    args = parser.parse_args()
    sizes, started = args.sizes, time.perf_counter()
    admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    admin_sql(f"CREATE DATABASE {BENCH_DB}")
    os.environ.update(DATABASE_URL=server_url(BENCH_DB), GOALS_TASK_QUEUE=QUEUE,
                      DJANGO_SETTINGS_MODULE="config.settings.test")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    os.environ.setdefault("GOALS_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    rows, loops = [], []
    try:
        call_command("migrate", verbosity=0)
        register_executor()
        build(1000, timezone.now())  # warms the repair path too: broker connection, statements
        timed_pass(timezone.now(), dry_run=False)
        for total in sizes:
            now = timezone.now()  # rows are built relative to it and the passes judge them at it
            active = total // 100 if args.active is None else args.active
            built = build(total, now, active=active)
            timed_pass(now, dry_run=True)  # warm-up
            dry = statistics.median(timed_pass(now, dry_run=True)[0] for _ in range(3))
            dry_findings = timed_pass(now, dry_run=True)[1]
            classified = statistics.median(classification(now) for _ in range(3))
            checked, loop_seconds = asyncresult_loop()
            loops.append((total, checked, loop_seconds, dry, classified))
            real, findings, actions = timed_pass(now, dry_run=False)
            rows.append((total, active, active // 10, built, real, dry, findings, dry_findings))
            print(f"  {total:,} goals built in {built:.1f}s; pass {real:.3f}s, dry run {dry:.3f}s; {actions}")
    finally:
        connections.close_all()
        admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        purged = purge_queue()
    print(f"\n{'goals':>10} {'active':>7} {'anomalies':>9} {'build s':>8} {'pass s':>8} {'dry-run s':>9}"
          f" {'findings':>8} {'dry findings':>12}")
    for row in rows:
        print("{:>10,} {:>7,} {:>9,} {:>8.1f} {:>8.3f} {:>9.3f} {:>8,} {:>12,}".format(*row))
    for small, large in itertools.pairwise(rows):
        print(f"\n{large[0]:,} / {small[0]:,}: history x{large[0] / small[0]:.0f}, active x{large[1] / small[1]:.0f},"
              f" pass time x{large[4] / small[4]:.2f}, dry-run time x{large[5] / small[5]:.2f}")
    for total, checked, loop_seconds, dry, classified in loops:
        print(f"\n{total:,} goals: classifying {checked:,} active goals one AsyncResult at a time took"
              f" {loop_seconds:.2f}s ({checked / loop_seconds:,.0f} checks/s); the pass's classification took"
              f" {classified:.3f}s (x{loop_seconds / classified:,.0f} faster), the whole dry-run pass (with its"
              f" report) {dry:.3f}s (x{loop_seconds / dry:,.0f} faster)")
    print(f"\nmessages left on {QUEUE} and purged: {purged}; total {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
