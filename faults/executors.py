"""The executors the scenarios submit. Workers load them with ``--include=faults.executors``.

Their queue is ``FAULTS_QUEUE`` (one per suite run, so nothing else on the broker takes their tasks),
and their heartbeat timeout is short, so that the reconciler finds an orphan within seconds.
"""

from __future__ import annotations

import os
import time
from datetime import datetime

from celery.exceptions import SoftTimeLimitExceeded

from faults.ledger import record_effect
from faults.processes import TIMINGS
from goals.api import Concurrency, executor
from goals.waits.events import WaitForEvent
from goals.worker.context import ExecutionContext

QUEUE = os.environ.get("FAULTS_QUEUE", "goals-faults")
HEARTBEAT_TIMEOUT = float(os.environ.get("FAULTS_HEARTBEAT_TIMEOUT", TIMINGS["FAULTS_HEARTBEAT_TIMEOUT"]))
MAX_ATTEMPTS = 5
# How many goals of one tenant ``faults.limited`` lets run at once.
LIMITED_PER_TENANT = 2


class PlannedCrash(Exception):
    """The failure ``faults.crash`` raises on every attempt."""


@executor("faults.effect", max_attempts=MAX_ATTEMPTS, timeout=60, heartbeat_timeout=HEARTBEAT_TIMEOUT, queue=QUEUE)
def effect(ctx: ExecutionContext, *, seconds: float = 0.0, first_attempt_only: bool = False,
           **labels: object) -> dict[str, bool]:
    """Works for ``seconds`` (where a kill lands; on the first attempt only if ``first_attempt_only``),
    then makes its effect once. ``labels`` (the run and the goal's number in it) only tell the
    scenario's goals apart."""
    if first_attempt_only and ctx.attempt > 1:
        seconds = 0.0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(min(0.05, seconds))
        ctx.heartbeat()
    return {"made": record_effect(ctx, "write")}


@executor("faults.crash", max_attempts=3, retry_backoff=0.2, retry_backoff_max=0.5, timeout=30, queue=QUEUE)
def crash(ctx: ExecutionContext, **labels: object) -> None:
    """Params that crash the executor every time: failed after its attempts, with the reason."""
    raise PlannedCrash(f"planned crash on attempt {ctx.attempt}")


@executor("faults.hang", max_attempts=2, timeout=1, heartbeat_timeout=60, queue=QUEUE)
def hang(ctx: ExecutionContext, **labels: object) -> None:
    """Ignores its soft time limit and hangs past the hard one, where the pool kills it."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            time.sleep(0.1)
        except SoftTimeLimitExceeded:  # swallowed on purpose: only the hard limit stops it
            continue


@executor("faults.family", max_attempts=MAX_ATTEMPTS, timeout=60, heartbeat_timeout=HEARTBEAT_TIMEOUT, queue=QUEUE)
def family(ctx: ExecutionContext, *, children: int, seconds: float = 0.0, **labels: object) -> dict[str, object]:
    """A parent: ``children`` goals of ``faults.effect`` (fail fast), then, as its own continuation, its
    effect, made once: a parent fanned in twice would reach it twice."""
    if not ctx.resumed:
        ctx.spawn_many("faults.effect", [{**labels, "i": f"{labels.get('i')}.{n}", "seconds": seconds,
                                          "first_attempt_only": True} for n in range(children)],
                       keys=[str(n) for n in range(children)])
        return ctx.wait_for_children(then="faults.family")
    return {"made": record_effect(ctx, "write"), "children": len(ctx.children())}


@executor("faults.await_paid", max_attempts=MAX_ATTEMPTS, timeout=60, heartbeat_timeout=HEARTBEAT_TIMEOUT,
          queue=QUEUE)
def await_paid(ctx: ExecutionContext, *, order: str, until: str, **labels: object) -> WaitForEvent:
    """Waits, holding no worker, for ``faults.paid`` with the correlation key ``order:<order>`` until the
    absolute ``until`` (ISO); then its continuation runs."""
    return ctx.wait_for_event("faults.paid", key=f"order:{order}", until=datetime.fromisoformat(until),
                              then="faults.paid_or_not")


@executor("faults.paid_or_not", max_attempts=MAX_ATTEMPTS, timeout=60, heartbeat_timeout=HEARTBEAT_TIMEOUT,
          queue=QUEUE)
def paid_or_not(ctx: ExecutionContext, **labels: object) -> dict[str, object]:
    """The continuation of ``faults.await_paid``: its effect, made once, with the event that resumed it
    (None: the deadline came first). A goal resumed twice would reach it twice."""
    event = ctx.event
    return {"made": record_effect(ctx, "write"), "event": event.id if event else None}


def _tenant(params: dict[str, object]) -> str:
    return str(params["tenant"])


@executor("faults.limited", max_attempts=MAX_ATTEMPTS, timeout=60, heartbeat_timeout=HEARTBEAT_TIMEOUT, queue=QUEUE,
          concurrency=Concurrency(LIMITED_PER_TENANT, key=_tenant))
def limited(ctx: ExecutionContext, *, tenant: str, seconds: float = 0.0, **labels: object) -> dict[str, bool]:
    """At most ``LIMITED_PER_TENANT`` at once per tenant, across every worker: works ``seconds`` (where a kill
    lands), then makes its effect once."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(min(0.05, seconds))
        ctx.heartbeat()
    return {"made": record_effect(ctx, "write")}
