"""Fan-in: one goal with N children (default 10,000) against a Celery chord of N plain tasks on the
django-db result backend, on the same worker, broker and database, rounds interleaved.

    make bench-fan-in    # or: .venv/bin/python bench/fan_in.py [--children 10000] [--runs 3]

goaltrack: ``submit("bench.fan_out")``, whose executor spawns N ``bench.noop`` children and waits; the
last child's final transition fans the parent in, and ``bench.fan_in`` runs as its continuation. Timed
from the submit to the parent final, and, from the rows, the fan-in's delay: the last child's
``finished_at`` to the parent's ``fan_in`` journal row, and to the continuation's start and end.
Celery: ``chord(plain.noop x N)(plain.chord_callback)``, its results in django-celery-results (the tuned
plain recipe's settings, connections reused), timed from the call to the callback's result row. Each run
checks the fan-in fired exactly once: one ``fan_in`` journal row and N final children for goaltrack,
one line of the callback's log for the chord. Writes ``bench/results/fan-in.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fill import BENCH_DB, ROOT, admin_sql, server_url
from throughput import BROKERS, RESULTS_DIR, Worker, clear_tables


def _wait(condition: Any, *, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("not finished within 30 minutes")
        time.sleep(0.05)


def goaltrack_run(n: int, app: Any, logs: Path, queue: str) -> dict[str, Any]:
    from django.db import connection, connections

    from goals.api import submit
    from goals.models import Goal, GoalEvent

    clear_tables()
    connections.close_all()
    worker = Worker("settings_fan_in", os.environ["CELERY_BROKER_URL"], queue, tempfile.mkdtemp(),
                    logs / "goaltrack.log")
    try:
        worker.wait_ready(app)
        clock = time.perf_counter()
        parent = submit("bench.fan_out", {"children": n})
        _wait(lambda: Goal.objects.filter(pk=parent.pk, finished_at__isnull=False).exists())
        seconds = time.perf_counter() - clock
    finally:
        worker.stop()
    parent = Goal.objects.get(pk=parent.pk)
    fan_ins = list(GoalEvent.objects.filter(goal=parent, transition="fan_in").values_list("created_at", flat=True))
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(finished_at), count(*) FILTER (WHERE finished_at IS NOT NULL), count(*)"
                       " FROM goals_goal WHERE parent_id = %s", [parent.pk])
        last_child, final, total = cursor.fetchone()
    started = parent.attempts.get(number=parent.attempt).started_at
    return {"seconds": round(seconds, 2), "state": parent.state, "fan_ins": len(fan_ins), "children": total,
            "children_final": final,
            "fan_in_ms": round((fan_ins[0] - last_child).total_seconds() * 1000, 1) if fan_ins else None,
            "continuation_started_ms": round((started - last_child).total_seconds() * 1000, 1),
            "parent_final_ms": round((parent.finished_at - last_child).total_seconds() * 1000, 1)}


def chord_run(n: int, app: Any, logs: Path, queue: str) -> dict[str, Any]:
    import bench_tasks
    from celery import chord
    from django.db import connections
    from django_celery_results.models import TaskResult

    clear_tables()
    connections.close_all()
    calls = Path(os.environ["BENCH_CHORD_LOG"])
    calls.write_text("")
    worker = Worker("settings_plain_tuned", os.environ["CELERY_BROKER_URL"], queue, tempfile.mkdtemp(),
                    logs / "chord.log")
    try:
        worker.wait_ready(app)
        clock = time.perf_counter()
        result = chord(bench_tasks.plain_noop.si().set(queue=queue) for _ in range(n))(
            bench_tasks.plain_chord_callback.s().set(queue=queue))
        _wait(lambda: TaskResult.objects.filter(task_id=result.id, status="SUCCESS").exists())
        seconds = time.perf_counter() - clock
        time.sleep(2.0)  # a second firing, if any, lands meanwhile
    finally:
        worker.stop()
    fired = len(calls.read_text().splitlines())
    return {"seconds": round(seconds, 2), "callback_runs": fired,
            "header_results": TaskResult.objects.filter(status="SUCCESS").exclude(task_id=result.id).count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--children", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    admin_sql(f"CREATE DATABASE {BENCH_DB}")
    queue = f"bench-{os.getpid()}"
    logs = Path(tempfile.mkdtemp(prefix="bench-fan-in-"))
    os.environ.update(DATABASE_URL=server_url(BENCH_DB), DJANGO_SETTINGS_MODULE="settings_fan_in",
                      GOALS_LOG_LEVEL="WARNING", GOALS_TASK_QUEUE=queue, BENCH_CHORD_LOG=str(logs / "callbacks"),
                      CELERY_BROKER_URL=os.environ.get("CELERY_BROKER_URL", BROKERS["redis"]))
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        import bench_tasks  # noqa: F401

        from config.celery import app
        goaltrack, chords = [], []
        for round_number in range(1, args.runs + 1):
            goaltrack.append(goaltrack_run(args.children, app, logs, queue))
            chords.append(chord_run(args.children, app, logs, queue))
            print(f"  round {round_number}: goaltrack {goaltrack[-1]}\n           chord {chords[-1]}", flush=True)
    finally:
        admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    report(args, goaltrack, chords)


def report(args: argparse.Namespace, goaltrack: list[dict], chords: list[dict]) -> None:
    def median(runs: list[dict], key: str) -> float:
        return statistics.median(run[key] for run in runs)

    ours, theirs = median(goaltrack, "seconds"), median(chords, "seconds")
    lines = [f"{args.children:,} children, {args.runs} rounds interleaved, median; Redis; one worker "
             "(prefork, 2 processes) for each", "",
             "| | seconds (median) | rounds | fired | vs chord |", "|---|---|---|---|---|",
             f"| goaltrack: parent and children | {ours:.1f} | {', '.join(str(r['seconds']) for r in goaltrack)} | "
             f"{', '.join(str(r['fan_ins']) for r in goaltrack)} fan-in | x{theirs / ours:.2f} |",
             f"| Celery chord, django-db | {theirs:.1f} | {', '.join(str(r['seconds']) for r in chords)} | "
             f"{', '.join(str(r['callback_runs']) for r in chords)} callback | x1.00 |", "",
             "From the last child's end (goaltrack, ms, median): fan-in "
             f"{median(goaltrack, 'fan_in_ms')}, continuation started {median(goaltrack, 'continuation_started_ms')}, "
             f"parent final {median(goaltrack, 'parent_final_ms')}."]
    print("\n" + "\n".join(lines))
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "fan-in.json").write_text(json.dumps({"children": args.children, "goaltrack": goaltrack,
                                                         "chord": chords}, indent=2, default=str))
    (RESULTS_DIR / "fan-in.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
