"""Executors the test suite submits; the worker started by the suite registers them too."""

import contextlib
import os
import time

from celery.exceptions import SoftTimeLimitExceeded

from goals.api import executor


class Boom(Exception):
    """A failure the tests plant on purpose."""


@executor("tests.count", max_attempts=1, timeout=60)
def count(ctx, *, to: int = 10, delay: float = 0.0):
    for i in range(1, to + 1):
        if delay:
            time.sleep(delay)
        ctx.progress(i, to, f"step {i}")
    return {"counted": to}


@executor("tests.noop", max_attempts=1, timeout=30)
def noop(ctx):
    return None


@executor("tests.always_fails", max_attempts=3, retry_backoff=0.2, retry_backoff_max=0.5, timeout=30)
def always_fails(ctx, *, marker: str = ""):
    raise Boom(f"planned failure {marker} on attempt {ctx.attempt}")


@executor("tests.fails_once", max_attempts=2, retry_backoff=0.2, retry_backoff_max=0.5, timeout=30)
def fails_once(ctx):
    if ctx.attempt == 1:
        raise Boom("planned failure on attempt 1")
    return {"attempt": ctx.attempt}


@executor("tests.ignores_time_limit", max_attempts=1, timeout=1)
def ignores_time_limit(ctx):
    """Sleeps through its soft time limit: the pool kills it at the hard one (1 s + 5 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(SoftTimeLimitExceeded):
            time.sleep(0.1)


@executor("tests.not_json", max_attempts=3, timeout=30)
def not_json(ctx):
    return {"when": object()}


@executor("tests.sleeper", max_attempts=3, timeout=120)
def sleeper(ctx, *, seconds: float = 30.0):
    """Reports its pid as progress (so a test can kill the right pool child), then sleeps on attempt 1."""
    deadline = time.monotonic() + (seconds if ctx.attempt == 1 else 0.0)
    while True:
        ctx.progress(1, 2, f"pid={os.getpid()}")
        if time.monotonic() >= deadline:
            return {"attempt": ctx.attempt}
        time.sleep(0.05)


@executor("tests.sleeper_once", max_attempts=3, timeout=120, idempotent=False)
def sleeper_not_idempotent(ctx, *, seconds: float = 30.0):
    return sleeper(ctx, seconds=seconds)


@executor("tests.sleeper_single_attempt", max_attempts=1, timeout=120)
def sleeper_single_attempt(ctx, *, seconds: float = 30.0):
    return sleeper(ctx, seconds=seconds)


@executor("tests.typed", max_attempts=1, timeout=30)
def typed(ctx, *, name: str, size: int = 1):
    return {"name": name, "size": size}


# Published to a queue no worker consumes: for tests that read "queued" without a worker running it.
UNCONSUMED_QUEUE = "tests-unconsumed"


@executor("tests.unconsumed", queue=UNCONSUMED_QUEUE)
def unconsumed(ctx):
    return None


# Limits written as floats while the others are ints: every reconciler pass in the suite binds all
# kinds' limits as one array, which must not fail on the mix.
@executor("tests.float_limits", timeout=12.5, heartbeat_timeout=7.5)
def float_limits(ctx):
    return None
