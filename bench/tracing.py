"""The cost of goaltrack's OpenTelemetry tracing (``goals.tracing``) in the workers: traced against not, side
by side in one run.

    make bench    # or: .venv/bin/python bench/tracing.py [--workers 4] [--n 2000] [--runs 3]

In a throwaway database ``goaltrack_bench``, ``--n`` no-op goals per round (``submit_many``, one statement)
run on ``--workers`` workers of 2 processes each, started afresh per round: alternately without the SDK
(the API's no-op spans) and with it (``BENCH_TRACING=1``: the SDK records every attempt's span, its events
and attributes, and a batch processor hands them to an exporter that drops them). ``--runs`` rounds of each;
the median goals/s from the submit to the last success, and their ratio. The submitting process has no SDK in
either, so the goals store no trace context and each attempt's span is a root: the work per attempt is the same
as under a submit's span.

DATABASE_URL names the server; CELERY_BROKER_URL the broker (default Redis on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from stack import bench_database, start_worker, stop, wait_until


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--n", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-tracing-"))
    with bench_database():
        from goals.api import submit_many
        from goals.models import Goal

        rates: dict[str, list[float]] = {"off": [], "on": []}
        for run in range(args.runs):
            for mode in rates:
                os.environ["BENCH_TRACING"] = "1" if mode == "on" else "0"
                workers = [start_worker(logs / f"{mode}-{run}-{n}.log", f"bench-{n}") for n in range(args.workers)]
                try:
                    time.sleep(5)  # every worker ready and consuming
                    Goal.objects.filter(kind="bench.noop").delete()
                    clock = time.perf_counter()
                    submit_many("bench.noop", [{}] * args.n)
                    wait_until(lambda: Goal.objects.filter(kind="bench.noop", state="succeeded").count() >= args.n,
                               600, f"{args.n:,} goals")
                    rates[mode].append(args.n / (time.perf_counter() - clock))
                finally:
                    for worker in workers:
                        stop(worker)
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    print(f"tracing in the workers, {args.n:,} no-op goals, {args.workers} workers x 2 processes, median of "
          f"{args.runs} alternating runs:")
    print(f"  off: {off:6.0f} goals/s; runs {[round(r) for r in rates['off']]}")
    print(f"  on:  {on:6.0f} goals/s; runs {[round(r) for r in rates['on']]}")
    print(f"  on / off: x{on / off:.2f}")
    print(f"logs: {logs}")


if __name__ == "__main__":
    main()
