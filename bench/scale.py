"""10,000,000 goals: the reconciler, the admin's lists, the status read and pruning under load.

    make bench-scale    # or: .venv/bin/python bench/scale.py [--sizes 1000000 10000000] [--active 10000]
                        #                                     [--anomalies 1000] [--prune 1000000] [--runs 7]

Each size is built in the throwaway database ``goaltrack_bench`` with set-based SQL (``fill.py``): the
goals over 5 kinds, their attempts, result rows and journal (up to four rows a goal), ``--active`` of
them active (0.1% of 10 M by default, held the same at every size so the ratio shows what history
costs) and ``--anomalies`` of those for the reconciler to find (0.01% of 10 M). Then, at each size:
a repairing reconciler pass and the median of 3 dry runs; the admin's goal list unfiltered, by state,
by kind and searched by task id, and the status read (``GET /api/goals/<id>/`` and the selector
alone), each the median of ``--runs`` after a warm-up, with its queries counted.

At the largest size it then prunes the ``--prune`` oldest final goals (1 M; ``goals.pruning.prune``, as
``manage.py prune_goals`` and the nightly task run it, with the cutoff their finish times give) in a
process of its own, while this process submits goals in a loop and a real worker runs them, and
compares the submits' latency during the prune with the same loop's just before it; a sampler reads
the longest lock wait (``pg_locks``) every 50 ms meanwhile. Then it compacts the journals of the next
``--prune`` oldest goals. At each size it also compares ``submit()`` with random (uuid4) against
time-ordered (UUIDv7) ids, in interleaved rounds that each start after a checkpoint. It takes about 35
minutes (the 10 M build is most of it) and 25 GB of disk at 10 M: watch ``df -h``. The database is dropped
at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
from admin_scale import measure
from fill import BENCH_DB, ROOT, admin_sql, build, server_url

# Run in a process of its own, as the nightly task or manage.py prune_goals would be.
PRUNE = """
import sys, django
django.setup()
from datetime import datetime
from goals.pruning import prune
counts = prune(cutoff=datetime.fromisoformat(sys.argv[1]))
print(f"deleted {counts.goals:,} final goals and {counts.reports:,} reports")
"""
QUEUE = f"bench-scale-{os.getpid()}"


def reconcile(now: Any) -> tuple[float, float, int]:
    """A repairing pass's seconds, the median of 3 dry runs', and the findings."""
    from reconcile_scale import timed_pass

    timed_pass(now, dry_run=True)  # warm-up
    dry = statistics.median(timed_pass(now, dry_run=True)[0] for _ in range(3))
    real, findings, _actions = timed_pass(now, dry_run=False)
    return real, dry, findings


def status_read_ms(goal_id: Any, runs: int) -> float:
    """Median milliseconds of the status read itself (the selector the endpoint calls)."""
    from goals.selectors import goal_for_status

    goal_for_status(goal_id=goal_id, owner_id=None)
    times = []
    for _ in range(runs * 20):
        clock = time.perf_counter()
        goal_for_status(goal_id=goal_id, owner_id=None)
        times.append((time.perf_counter() - clock) * 1000)
    return statistics.median(times)


def pages(goal: Any) -> list[tuple[str, str]]:
    return [
        ("admin list, unfiltered", "/admin/goals/goal/"),
        ("admin list, state=failed", "/admin/goals/goal/?state__exact=failed"),
        ("admin list, state=running", "/admin/goals/goal/?state__exact=running"),
        ("admin list, kind=bench.kind3", "/admin/goals/goal/?kind=bench.kind3"),
        ("admin list, search by task id", f"/admin/goals/goal/?q={goal.task_id}"),
        ("API status", f"/api/goals/{goal.pk}/"),
        ("/metrics", "/metrics"),
    ]


class LockWaitSampler(threading.Thread):
    """The longest wait for a lock in the bench database, sampled every 50 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.longest = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        with psycopg.connect(server_url(BENCH_DB), autocommit=True) as conn:
            while not self.done.is_set():
                row = conn.execute("SELECT COALESCE(EXTRACT(EPOCH FROM max(now() - waitstart)), 0) FROM pg_locks"
                                   " WHERE NOT granted").fetchone()
                self.longest = max(self.longest, float(row[0]))
                time.sleep(0.05)


def submit_latencies(seconds: float, stop: threading.Event | None = None) -> list[float]:
    """Milliseconds of each ``submit()`` in a loop, for ``seconds`` (or until ``stop``)."""
    from goals.api import submit

    latencies, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline and not (stop and stop.is_set()):
        clock = time.perf_counter()
        submit("bench.noop", {})
        latencies.append((time.perf_counter() - clock) * 1000)
    return latencies


def blocks_read() -> int:
    """Blocks the bench database has read into shared buffers so far (from disk or the OS cache)."""
    with psycopg.connect(server_url("postgres"), autocommit=True) as conn:
        row = conn.execute("SELECT blks_read FROM pg_stat_database WHERE datname = %s", [BENCH_DB]).fetchone()
    return int(row[0])


def submit_costs(count: int, rounds: int) -> dict[str, tuple[float, float, float]]:
    """Per ``submit()`` with random (uuid4) and with time-ordered (UUIDv7, goals.ids) goal and task ids,
    in interleaved rounds of ``count``: median milliseconds, WAL bytes and blocks read. Each round starts
    right after a checkpoint, when a page's first change writes it whole to the WAL: the state a busy
    server is in for a while after each of its checkpoints."""
    import uuid

    from throughput import wal_position

    from goals.api import submit
    from goals.submitting import people as services
    from goals.submitting import sender

    schemes = {"uuid4": (uuid.uuid4, lambda: str(uuid.uuid4())), "uuid7": (services.new_id, services.new_task_id)}
    figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in schemes}
    try:
        for _ in range(rounds):
            for name, (goal_id, task_id) in schemes.items():
                services.new_id, services.new_task_id = goal_id, task_id
                admin_sql("CHECKPOINT")
                wal, reads, clock = wal_position()[0], blocks_read(), time.perf_counter()
                for _ in range(count):
                    submit("bench.noop", {})
                sender.stop()  # the "queued" marks are part of the cost
                figures[name].append(((time.perf_counter() - clock) * 1000 / count,
                                      (wal_position()[0] - wal) / count, (blocks_read() - reads) / count))
    finally:
        services.new_id, services.new_task_id = schemes["uuid7"]
    return {name: tuple(statistics.median(value[i] for value in values) for i in range(3))
            for name, values in figures.items()}


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def oldest_finish_after(count: int) -> Any:
    """The finish time of the ``count``-th oldest final goal (the last one's if there are fewer): the
    cutoff before which ``count`` goals finished."""
    from goals.models import Goal

    oldest = Goal.objects.final().order_by("finished_at").values_list("finished_at", flat=True)
    return oldest[count] if oldest[count:count + 1] else oldest.last()


def prune_under_load(count: int, load_seconds: float) -> dict[str, float]:
    """Submit latency without and during a prune of the ``count`` oldest final goals, the prune's own
    figures, and the longest lock wait."""
    from throughput import Worker

    from config.celery import app
    from goals.models import Goal

    cutoff = oldest_finish_after(count)
    doomed = Goal.objects.final().filter(finished_at__lt=cutoff).count()
    logs = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    worker = Worker("config.settings.base", os.environ["CELERY_BROKER_URL"], QUEUE, str(logs), logs / "worker.log")
    try:
        worker.wait_ready(app)
        submit_latencies(2)  # warm-up
        quiet = submit_latencies(load_seconds)
        sampler = LockWaitSampler()
        sampler.start()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base"}
        clock = time.perf_counter()
        pruning = subprocess.Popen([sys.executable, "-c", PRUNE, cutoff.isoformat()], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, text=True)
        finished = threading.Event()
        threading.Thread(target=lambda: (pruning.wait(), finished.set()), daemon=True).start()
        during = submit_latencies(3600, stop=finished)
        prune_seconds = time.perf_counter() - clock
        sampler.done.set()
        sampler.join()
        print(f"  prune: {pruning.stdout.read().strip()}", flush=True)
    finally:
        worker.stop()
    return {"doomed": doomed, "prune_seconds": prune_seconds, "quiet_p50": statistics.median(quiet),
            "quiet_p99": p99(quiet), "during_p50": statistics.median(during), "during_p99": p99(during),
            "submits_during": len(during), "longest_lock_wait": sampler.longest}


def compaction(count: int) -> dict[str, float]:
    """Compacting the journals of the ``count`` oldest final goals left (``goals.pruning.compact_journals``,
    as ``prune_goals --journal-older-than`` runs it): seconds and rows deleted."""
    from goals.models import GoalEvent
    from goals.pruning import compact_journals

    cutoff = oldest_finish_after(count)
    before = GoalEvent.objects.count()
    clock = time.perf_counter()
    deleted = compact_journals(cutoff=cutoff)
    seconds = time.perf_counter() - clock
    print(f"  compaction: {deleted:,} journal rows of {count:,} goals in {seconds:.0f}s", flush=True)
    return {"compacted_rows": deleted, "compact_seconds": seconds, "journal_before": before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--active", type=int, default=10_000)
    parser.add_argument("--anomalies", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--prune", type=int, default=1_000_000, help="final goals to prune under load")
    parser.add_argument("--load-seconds", type=float, default=20.0)
    parser.add_argument("--id-submits", type=int, default=2000, help="submits per round, per id scheme")
    args = parser.parse_args()
    started = time.perf_counter()
    admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    admin_sql(f"CREATE DATABASE {BENCH_DB}")
    os.environ.update(DATABASE_URL=server_url(BENCH_DB), DJANGO_SETTINGS_MODULE="config.settings.test",
                      GOALS_TASK_QUEUE=QUEUE)
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    os.environ.setdefault("GOALS_LOG_LEVEL", "WARNING")
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client
    from django.utils import timezone

    from goals.conf import goal_settings
    from goals.models import Goal
    from goals.submitting import sender

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.GOALS_METRICS = "open"
    goal_settings.cache_clear()
    import bench_tasks  # noqa: F401  (bench.noop, on this process's queue)

    rows: dict[int, dict[str, Any]] = {}
    pruned: dict[str, float] = {}
    try:
        call_command("migrate", verbosity=0)
        client = Client()
        client.force_login(User.objects.create_superuser("bench", password="unused"))
        for total in args.sizes:
            now = timezone.now()
            built = build(total, now, kinds=5, active=args.active, anomalies=args.anomalies, journal=True)
            print(f"{total:,} goals built in {built:.0f}s", flush=True)
            row: dict[str, Any] = {"build": built}
            row["pass"], row["dry"], row["findings"] = reconcile(now)
            goal = Goal.objects.final().order_by("-created_at")[1000]
            for name, url in pages(goal):
                milliseconds, queries, _counts, slowest = measure(client, url, args.runs)
                row[name] = (milliseconds, queries)
                print(f"  {name}: {milliseconds:.1f} ms; slowest query {slowest}", flush=True)
            row["status read (selector)"] = status_read_ms(goal.pk, args.runs)
            row["ids"] = submit_costs(args.id_submits, 3)
            for name, (milliseconds, wal, reads) in row["ids"].items():
                print(f"  submit with {name} ids: {milliseconds:.2f} ms, {wal:,.0f} WAL bytes, {reads:.1f} blocks"
                      " read", flush=True)
            rows[total] = row
            print(f"  pass {row['pass']:.3f}s, dry run {row['dry']:.3f}s, {row['findings']} findings; status read"
                  f" {row['status read (selector)']:.2f} ms", flush=True)
        pruned = prune_under_load(args.prune, args.load_seconds)
        pruned.update(compaction(args.prune))
    finally:
        sender.stop()
        connections.close_all()
        admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        purge()
    report(rows, pruned, args, time.perf_counter() - started)


def purge() -> None:
    from config.celery import app

    with app.connection_for_write() as conn:
        conn.default_channel.queue_delete(QUEUE)


def report(rows: dict[int, dict[str, Any]], pruned: dict[str, float], args: argparse.Namespace, total: float) -> None:
    sizes = sorted(rows)
    print(f"\n{args.active:,} active goals and {args.anomalies:,} anomalies at every size; medians of {args.runs}\n")
    print("| figure | " + " | ".join(f"{size:,} goals" for size in sizes) + " | ratio |")
    print("|---|" + "---|" * (len(sizes) + 1))

    def line(name: str, values: list[float], unit: str, queries: list[int] | None = None) -> None:
        shown = [f"{value:.3g} {unit}" + (f" ({count} queries)" if queries else "")
                 for value, count in zip(values, queries or [0] * len(values), strict=True)]
        ratio = f"x{values[-1] / values[0]:.2f}" if len(values) > 1 and values[0] else "-"
        print(f"| {name} | " + " | ".join(shown) + f" | {ratio} |")

    line("reconcile pass", [rows[s]["pass"] for s in sizes], "s")
    line("reconcile dry run", [rows[s]["dry"] for s in sizes], "s")
    for name, value in rows[sizes[0]].items():
        if isinstance(value, tuple):  # a page: (milliseconds, queries)
            line(name, [rows[s][name][0] for s in sizes], "ms", [rows[s][name][1] for s in sizes])
    line("status read (selector)", [rows[s]["status read (selector)"] for s in sizes], "ms")
    for index, (figure, unit) in enumerate((("ms", "ms"), ("WAL bytes", "B"), ("blocks read", "blocks"))):
        for name in ("uuid4", "uuid7"):
            line(f"submit, {name} ids: {figure}", [rows[s]["ids"][name][index] for s in sizes], unit)
        ratios = ", ".join(f"{s:,}: x{rows[s]['ids']['uuid4'][index] / max(rows[s]['ids']['uuid7'][index], 1e-9):.2f}"
                           for s in sizes)
        print(f"| submit {figure}, uuid4 / uuid7 | {ratios} | | |")
    if pruned:
        print(f"\nPruning {pruned['doomed']:,.0f} final goals at {sizes[-1]:,} while submitting: "
              f"{pruned['prune_seconds']:.0f}s ({pruned['doomed'] / pruned['prune_seconds']:,.0f} goals/s); "
              f"submit p50/p99 {pruned['quiet_p50']:.1f}/{pruned['quiet_p99']:.1f} ms before, "
              f"{pruned['during_p50']:.1f}/{pruned['during_p99']:.1f} ms during "
              f"(p99 x{pruned['during_p99'] / pruned['quiet_p99']:.2f}, {pruned['submits_during']:,} submits); "
              f"longest lock wait {pruned['longest_lock_wait']:.2f}s")
    if "compacted_rows" in pruned:
        print(f"\nCompacting the journals of the next {args.prune:,} oldest final goals (nothing else running):"
              f" {pruned['compacted_rows']:,.0f} of {pruned['journal_before']:,.0f} journal rows deleted in"
              f" {pruned['compact_seconds']:.0f}s ({pruned['compacted_rows'] / pruned['compact_seconds']:,.0f}"
              " rows/s)")
    print(f"\ntotal {total:.0f}s")


if __name__ == "__main__":
    main()
