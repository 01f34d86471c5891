"""The work both stacks run in the throughput benchmark: a no-op, and a no-op that reports progress 10 times.

goaltrack runs them as executors (``bench.noop``, ``bench.progress``); the plain recipe the tutorials
teach runs them as ordinary Celery tasks storing their results in django-celery-results, progress
through ``update_state(state="PROGRESS")``, and a ceiling task that stores nothing at all.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from goals.api import executor

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
