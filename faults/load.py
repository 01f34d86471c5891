"""Load: many HTTP clients submitting goals and polling their status while workers run them."""

from __future__ import annotations

import itertools
import statistics
import threading
import time

from faults.checks import verify
from faults.common import FINAL_VALUES, Outcome, new_run, running, wait_all_final
from faults.http import api_key, call, submit_goal
from faults.outages import p99
from faults.processes import Stage, WebServer, Worker, reconciler


def load(stage: Stage, *, clients: int, seconds: float, timeout: float = 300) -> Outcome:
    """``clients`` threads, each submitting a goal over HTTP and polling it (with its ETag) until it ends,
    for ``seconds``: no 5xx, no goal lost; submit and status latencies reported."""
    run = new_run("load")
    web = WebServer(stage)
    numbers, lock = itertools.count(), threading.Lock()
    submits: list[tuple[float, int]] = []
    polls: list[tuple[float, int]] = []
    accepted: set[str] = set()

    def client(key: str, until: float) -> None:
        while time.monotonic() < until:
            with lock:
                i = next(numbers)
            answer = submit_goal(web.url, key, run, i)
            with lock:
                submits.append((answer.seconds, answer.status))
            goal_id = answer.body.get("id")
            if not goal_id:
                continue
            with lock:
                accepted.add(goal_id)
            etag, state = None, answer.body.get("state")
            while state not in FINAL_VALUES and time.monotonic() < until:
                time.sleep(0.2)
                status = call(f"{web.url}/api/goals/{goal_id}/", key, etag=etag)
                with lock:
                    polls.append((status.seconds, status.status))
                if status.status == 200:
                    etag, state = status.etag, status.body.get("state")

    with running(web, Worker(stage, f"load-{run}"), reconciler(stage)):
        key = api_key(run)
        until = time.monotonic() + seconds
        threads = [threading.Thread(target=client, args=(key, until)) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wait_all_final(run, len(accepted), timeout=timeout)
    verdict = verify(run)
    server_errors = sum(1 for _, status in submits + polls if status >= 500 or status == 0)
    not_modified = sum(1 for _, status in polls if status == 304)
    problems = [f"{server_errors} answers were 5xx or none at all"] if server_errors else []
    return Outcome(f"load: {clients} HTTP clients for {seconds:.0f} s", verdict, expected_goals=len(accepted),
                   extra_problems=problems, figures={
                       "submits": len(submits), "goals accepted": len(accepted), "status polls": len(polls),
                       "polls answered 304": not_modified, "5xx or no answer": server_errors,
                       "submit p50 ms": round(statistics.median(s for s, _ in submits) * 1000),
                       "submit p99 ms": round(p99([s for s, _ in submits]) * 1000),
                       "status p50 ms": round(statistics.median(s for s, _ in polls) * 1000) if polls else None,
                       "status p99 ms": round(p99([s for s, _ in polls]) * 1000) if polls else None})
