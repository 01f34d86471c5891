"""Concurrency limits on real workers: the limit at every instant, its cost, and one key's backlog against
many small keys.

    make bench    # or: .venv/bin/python bench/limits.py [--workers 4] [--one-key 10000] [--n 2000] [--runs 3]
                  #     [--only 2 4]

In a throwaway database ``goaltrack_bench``, ``--workers`` workers of 2 processes each (8) run:

1. **One key, limit 5**: ``--one-key`` goals of one key, each ``--work`` seconds long. The most attempts
   running at one instant, found by a sweep over every attempt's ``started_at`` and ``finished_at`` (the
   database's clock, stamped by the statements that take and give back the slot), not by sampling.
2. **Throughput with a kind-wide limit equal to the processes** against the same no-op with no limit: ``--n``
   goals each, alternating, ``--runs`` rounds; the median goals/s of each and their ratio.
3. **One key's backlog against many small keys, limit 2 per key**: a key with ``--big`` goals submitted
   first, then ``--small-keys`` keys with 10 goals each, every goal ``--work`` seconds long: when the last
   small key's goal finished against when the big key's half-way goal did.
4. **A rate of 100 a minute per key** for ``--rate-minutes`` minutes: 3 keys with 100 goals a minute each and
   50 more, all submitted at once, a beat releasing the held ones at their turns: the most starts of one key
   in a calendar minute and in any 60 s, and how late after their turn the held goals started.

DATABASE_URL names the server; CELERY_BROKER_URL the broker (default Redis on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from stack import bench_database, percentiles, start_beat, start_worker, stop, wait_until


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--one-key", type=int, default=10_000)
    parser.add_argument("--work", type=float, default=0.02)
    parser.add_argument("--n", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--small-keys", type=int, default=999)
    parser.add_argument("--rate-minutes", type=float, default=5)
    parser.add_argument("--only", type=int, nargs="*", default=[1, 2, 3, 4], help="the figures to measure")
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="bench-limits-"))
    with bench_database():
        workers = [start_worker(logs / f"worker-{n}.log", f"bench-{n}") for n in range(args.workers)]
        workers.append(start_beat(logs / "beat.log"))  # releases the goals held for a rate at their turns
        try:
            time.sleep(5)  # every worker ready and consuming
            print(f"concurrency limits, {args.workers} workers x 2 processes:")
            figures = {1: lambda: one_key(args.one_key, args.work),
                       2: lambda: throughput(args.n, args.runs, processes=2 * args.workers),
                       3: lambda: backlog(args.big, args.small_keys, args.work),
                       4: lambda: rate(args.rate_minutes)}
            for figure in args.only:
                figures[figure]()
        finally:
            for worker in workers:
                stop(worker)
    print(f"logs: {logs}")


def _all_final(kind: str, n: int, timeout: float) -> float:
    from goals.models import Goal

    clock = time.perf_counter()
    wait_until(lambda: Goal.objects.filter(kind=kind, finished_at__isnull=False).count() >= n, timeout,
               f"{n:,} goals of {kind}")
    return time.perf_counter() - clock


def one_key(n: int, work: float) -> None:
    from faults.overlap import most_at_once
    from goals.api import submit_many
    from goals.models import Attempt, Goal, GoalEvent

    clock = time.perf_counter()
    submit_many("bench.one_key", [{"key": "acme", "work": work}] * n)
    seconds = time.perf_counter() - clock + _all_final("bench.one_key", n, 60 + n * work)
    intervals = list(Attempt.objects.filter(goal__kind="bench.one_key", started_at__isnull=False)
                     .values_list("started_at", "finished_at"))
    succeeded = Goal.objects.filter(kind="bench.one_key", state="succeeded").count()
    twice = Goal.objects.filter(kind="bench.one_key", attempt__gt=1).count()
    holds = GoalEvent.objects.filter(goal__kind="bench.one_key", transition="hold").count()
    admits = GoalEvent.objects.filter(goal__kind="bench.one_key", transition="admit").count()
    print(f"  1. {n:,} goals of one key, limit 5, {work * 1000:.0f} ms each: most running at once "
          f"{most_at_once(intervals)} (of {len(intervals):,} attempts); {succeeded:,} succeeded, {twice} ran twice; "
          f"{seconds:.1f} s ({n / seconds:.0f} goals/s, the limit's ceiling {5 / work:.0f}/s); "
          f"{holds:,} holds, {admits:,} admits")


def throughput(n: int, runs: int, *, processes: int) -> None:
    from faults.overlap import most_at_once
    from goals.api import set_concurrency, submit_many
    from goals.models import Attempt, Goal

    set_concurrency("bench.kind_limited", processes, actor="bench")
    rates: dict[str, list[float]] = {"bench.noop": [], "bench.kind_limited": []}
    most = 0
    for _ in range(runs):
        for kind in rates:
            Goal.objects.filter(kind=kind).delete()
            clock = time.perf_counter()
            submit_many(kind, [{}] * n)
            _all_final(kind, n, 600)
            rates[kind].append(n / (time.perf_counter() - clock))
        most = max(most, most_at_once(list(Attempt.objects.filter(goal__kind="bench.kind_limited")
                                           .values_list("started_at", "finished_at"))))
    limited, free = statistics.median(rates["bench.kind_limited"]), statistics.median(rates["bench.noop"])
    print(f"  2. throughput, {n:,} no-op goals, median of {runs} alternating runs: no limit {free:.0f} goals/s, "
          f"kind-wide limit {processes} (= the processes) {limited:.0f} goals/s: x{limited / free:.2f} "
          f"(most running at once {most}); runs {[round(r) for r in rates['bench.noop']]} against "
          f"{[round(r) for r in rates['bench.kind_limited']]}")


def backlog(big: int, small_keys: int, work: float) -> None:
    from goals.api import submit_many
    from goals.models import Goal

    clock = time.perf_counter()
    submit_many("bench.per_key", [{"key": "big", "work": work}] * big)
    for first in range(0, small_keys, 100):
        submit_many("bench.per_key", [{"key": f"small-{k}", "work": work}
                                      for k in range(first, min(first + 100, small_keys)) for _ in range(10)])
    total = big + 10 * small_keys
    _all_final("bench.per_key", total, 120 + total * work)
    seconds = time.perf_counter() - clock
    big_finished = sorted(Goal.objects.filter(kind="bench.per_key", limit_key="big")
                          .values_list("finished_at", flat=True))
    small_last = max(Goal.objects.filter(kind="bench.per_key").exclude(limit_key="big")
                     .values_list("finished_at", flat=True))
    half = big_finished[len(big_finished) // 2 - 1]
    start = min(Goal.objects.filter(kind="bench.per_key").values_list("created_at", flat=True))
    print(f"  3. one key with {big:,} goals, then {small_keys} keys with 10 each, limit 2 per key, "
          f"{work * 1000:.0f} ms each: the last small key's goal finished at "
          f"{(small_last - start).total_seconds():.1f} s, the big key's half-way goal at "
          f"{(half - start).total_seconds():.1f} s, its last at {(big_finished[-1] - start).total_seconds():.1f} s "
          f"({'small keys first' if small_last < half else 'SMALL KEYS LATE'}); all {total:,} in {seconds:.0f} s")


def rate(minutes: float) -> None:
    from goals.api import submit_many
    from goals.models import Goal, GoalEvent

    keys, per_minute = 3, 100
    n = int(per_minute * minutes) + 50
    for key in range(keys):
        submit_many("bench.rated", [{"key": f"account-{key}"}] * n)
    _all_final("bench.rated", keys * n, minutes * 60 + 300)
    starts: dict[str, list[datetime]] = {}
    for key, started in Goal.objects.filter(kind="bench.rated").values_list("rate_key", "started_at"):
        starts.setdefault(key, []).append(started)
    worst_minute = max(max(_per_minute(times).values()) for times in starts.values())
    worst_window = max(_most_in_any_minute(times) for times in starts.values())
    started_at = dict(Goal.objects.filter(kind="bench.rated").values_list("id", "started_at"))
    lateness = [(started_at[goal_id] - datetime.fromisoformat(details["until"])).total_seconds()
                for goal_id, details in GoalEvent.objects.filter(goal__kind="bench.rated", transition="hold")
                .values_list("goal_id", "details")]
    print(f"  4. rate 100 a minute per key, {keys} keys x {n:,} goals over {minutes:g} minutes: the most starts of "
          f"a key in a calendar minute {worst_minute}, in any 60 s {worst_window}; {len(lateness):,} held goals "
          f"started after their turn: {percentiles(lateness)}")


def _per_minute(times: list[datetime]) -> dict[datetime, int]:
    counts: dict[datetime, int] = {}
    for at in times:
        minute = at.replace(second=0, microsecond=0)
        counts[minute] = counts.get(minute, 0) + 1
    return counts


def _most_in_any_minute(times: list[datetime]) -> int:
    """The most starts in any 60 s: the worst span begins at a start (two pointers over the sorted times)."""
    ordered, most, end = sorted(times), 0, 0
    for begin, at in enumerate(ordered):
        while end < len(ordered) and (ordered[end] - at).total_seconds() < 60:
            end += 1
        most = max(most, end - begin)
    return most


if __name__ == "__main__":
    main()
