"""The work both stacks run in the throughput benchmark: a no-op, and a no-op that reports progress 10 times;
and for the fan-in benchmark, a parent of many no-op children against a Celery chord of plain no-ops.

goaltrack runs them as executors (``bench.noop``, ``bench.progress``); the plain recipe the tutorials
teach runs them as ordinary Celery tasks storing their results in django-celery-results, progress
through ``update_state(state="PROGRESS")``, and a ceiling task that stores nothing at all.
"""

from __future__ import annotations

import os
import time
from typing import Any

from celery import shared_task

from goals.api import Concurrency, Rate, executor

PROGRESS_STEPS = 10


@executor("bench.noop", max_attempts=1)
def goal_noop(ctx: Any) -> None:
    return None


@executor("bench.progress", max_attempts=1)
def goal_progress(ctx: Any) -> None:
    for step in range(1, PROGRESS_STEPS + 1):
        ctx.progress(step, PROGRESS_STEPS, f"step {step}")


@shared_task(name="plain.noop")
def plain_noop() -> None:
    return None


@shared_task(bind=True, name="plain.progress")
def plain_progress(self: Any) -> None:
    for step in range(1, PROGRESS_STEPS + 1):
        self.update_state(state="PROGRESS", meta={"current": step, "total": PROGRESS_STEPS})


@shared_task(name="plain.ceiling", ignore_result=True)
def plain_ceiling() -> None:
    return None


@shared_task(name="plain.sentinel")
def plain_sentinel() -> str:
    """Sent after the ceiling run's no-result tasks: its stored result says the queue has drained."""
    return "done"


@executor("bench.fan_out", max_attempts=1, timeout=600)
def goal_fan_out(ctx: Any, *, children: int) -> Any:
    """A parent of ``children`` no-op goals, continued by ``bench.fan_in`` once they have all ended."""
    ctx.spawn_many("bench.noop", [{}] * children)
    return ctx.wait_for_children(then="bench.fan_in")


@executor("bench.fan_in", max_attempts=1, timeout=600)
def goal_fan_in(ctx: Any, *, children: int) -> dict[str, int]:
    return {"children": children}


@shared_task(name="plain.chord_callback")
def plain_chord_callback(results: list[Any]) -> int:
    """The chord's body: appends a line to ``BENCH_CHORD_LOG`` each time it runs (a chord that fired twice
    shows two)."""
    with open(os.environ["BENCH_CHORD_LOG"], "a") as log:
        log.write(f"{len(results)}\n")
    return len(results)


@executor("bench.deferred", max_attempts=1)
def goal_deferred(ctx: Any) -> None:
    """A goal submitted to start later (``bench/deferred.py``), run when released."""
    return None


@executor("bench.parked", max_attempts=1, queue=os.environ.get("BENCH_PARKED_QUEUE", "bench-parked"))
def goal_parked(ctx: Any) -> None:
    """Released and published to a queue nothing consumes: ``bench/deferred.py`` times the release alone."""
    return None


def _key(params: dict[str, Any]) -> str:
    return params["key"]


@executor("bench.one_key", max_attempts=1, concurrency=Concurrency(5, key=_key))
def goal_one_key(ctx: Any, *, key: str, work: float = 0.0) -> None:
    """At most five at once per key (``bench/limits.py``), each ``work`` seconds long."""
    time.sleep(work)


@executor("bench.per_key", max_attempts=1, concurrency=Concurrency(2, key=_key))
def goal_per_key(ctx: Any, *, key: str, work: float = 0.0) -> None:
    """At most two at once per key: one key's backlog against many small keys (``bench/limits.py``)."""
    time.sleep(work)


@executor("bench.kind_limited", max_attempts=1, concurrency=1)
def goal_kind_limited(ctx: Any) -> None:
    """A no-op with a kind-wide limit, which ``bench/limits.py`` sets to the workers' processes."""
    return None


@executor("bench.rated", max_attempts=1, rate=Rate(100, "minute", key=_key))
def goal_rated(ctx: Any, *, key: str) -> None:
    """At most 100 starts a minute per key (``bench/limits.py``)."""
    return None


# Django's task framework on goaltrack (bench/task_backend.py): the same no-op as ``bench.noop``, as a ``@task``.
from goals.tasking.compat import task  # noqa: E402  (needs TASKS, set by the bench settings)


@task
def task_noop() -> None:
    return None
