"""Django's task API on goaltrack against ``goals.api.submit`` for the same work, side by side in one run.

    make bench    # or: .venv/bin/python bench/task_backend.py [--workers 4] [--n 2000] [--runs 5]

In a throwaway database ``goaltrack_bench``, ``--workers`` workers of 2 processes each run ``--n`` no-op goals
per round, alternating: submitted one by one with ``submit("bench.noop")``, then enqueued one by one with
``task_noop.enqueue()`` (``bench_tasks.py``, the same no-op as a ``@task``), ``--runs`` rounds. For each: the
caller's time per call, and goals/s from the first submit to the last final state. The statements each costs
are pinned by the tests (tests/worker/test_goal_cost.py), not measured here.

DATABASE_URL names the server; CELERY_BROKER_URL the broker (default Redis on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from stack import bench_database, start_worker, stop, wait_until


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--n", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-task-backend-"))
    with bench_database():
        workers = [start_worker(logs / f"worker-{n}.log", f"bench-{n}") for n in range(args.workers)]
        try:
            time.sleep(5)  # every worker ready and consuming
            compare(args.n, args.runs, args.workers)
        finally:
            for worker in workers:
                stop(worker)
    print(f"logs: {logs}")


def compare(n: int, runs: int, workers: int) -> None:
    from bench_tasks import task_noop

    from goals.api import submit
    from goals.models import Goal

    ways = {"submit": ("bench.noop", lambda: submit("bench.noop")),
            "enqueue": ("tasks.default", lambda: task_noop.enqueue())}
    rates: dict[str, list[float]] = {way: [] for way in ways}
    caller: dict[str, list[float]] = {way: [] for way in ways}
    for _ in range(runs):
        for way, (kind, send_one) in ways.items():
            Goal.objects.filter(kind=kind).delete()
            clock = time.perf_counter()
            for _goal in range(n):
                send_one()
            caller[way].append((time.perf_counter() - clock) / n)
            wait_until(lambda kind=kind: Goal.objects.filter(kind=kind, state="succeeded").count() >= n, 600,
                       f"{n:,} goals of {kind}")
            rates[way].append(n / (time.perf_counter() - clock))
    submitted, enqueued = statistics.median(rates["submit"]), statistics.median(rates["enqueue"])
    print(f"Django's task API against submit, {n:,} no-op goals one by one, {workers} workers x 2 processes, "
          f"median of {runs} alternating runs:")
    print(f"  submit:  {submitted:6.0f} goals/s end to end, {statistics.median(caller['submit']) * 1e3:.2f} ms "
          f"per call; runs {[round(r) for r in rates['submit']]}")
    print(f"  enqueue: {enqueued:6.0f} goals/s end to end, {statistics.median(caller['enqueue']) * 1e3:.2f} ms "
          f"per call; runs {[round(r) for r in rates['enqueue']]}")
    print(f"  enqueue / submit: x{enqueued / submitted:.2f}")


if __name__ == "__main__":
    main()
