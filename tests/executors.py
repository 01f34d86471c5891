"""Executors the test suite submits; the worker started by the suite registers them too."""

import contextlib
import os
import time

from celery.exceptions import SoftTimeLimitExceeded

from goals.api import FAIL_FAST, WAIT_FOR_ALL, Concurrency, Rate, executor, tolerate


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


@executor("tests.fails_twice", max_attempts=3, retry_backoff=0.1, retry_jitter=False, timeout=30)
def fails_twice(ctx):
    if ctx.attempt < 3:
        raise Boom(f"planned failure on attempt {ctx.attempt}")
    return {"attempt": ctx.attempt}


@executor("tests.fails_once_then_waits", max_attempts=2, retry_backoff=3600, retry_backoff_max=3600,
          retry_jitter=False, timeout=30)
def fails_once_then_waits(ctx):
    """Its one retry waits an hour (past ``GOALS_RETRY_LATER_AFTER``): as a scheduled attempt."""
    if ctx.attempt == 1:
        raise Boom("planned failure on attempt 1")
    return {"attempt": ctx.attempt}


@executor("tests.awaits_payment", max_attempts=1, timeout=30)
def awaits_payment(ctx, *, order: str, timeout: float | None = None):
    """Hands back control until the order's payment is captured (or ``timeout`` seconds pass)."""
    return ctx.wait_for_event("payment.captured", key=f"order:{order}", timeout=timeout, then="tests.ships")


@executor("tests.ships", max_attempts=1, timeout=30)
def ships(ctx, *, order: str, timeout: float | None = None):
    """The continuation: with the event that resumed it, or none when the wait timed out."""
    event = ctx.event
    return {"order": order, "paid": event.payload if event else None, "timed_out": event is None}


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


def purge_unconsumed() -> int:
    """Empty the unconsumed queue; returns how many messages it held."""
    from config.celery import app

    with app.connection_for_write() as conn:
        return conn.default_channel.queue_purge(UNCONSUMED_QUEUE) or 0


# Limits written as floats while the others are ints: every reconciler pass in the suite binds all
# kinds' limits as one array, which must not fail on the mix.
@executor("tests.float_limits", timeout=12.5, heartbeat_timeout=7.5)
def float_limits(ctx):
    return None


@executor("tests.fails_at_once", max_attempts=1, timeout=30)
def fails_at_once(ctx, *, marker: str = ""):
    raise Boom(f"planned failure {marker}")


POLICIES = {"fail_fast": FAIL_FAST, "wait_for_all": WAIT_FOR_ALL, "tolerate_1": tolerate(1)}


@executor("tests.family", max_attempts=1, timeout=60)
def family(ctx, *, children: int = 2, failing: int = 0, depth: int = 0, policy: str = "fail_fast",
           then: str = "", slow: bool = False):
    """A parent: ``depth`` levels of families below it, ``children`` each; the lowest level's children
    count (for 10 s with ``slow``), and ``failing`` more of them fail at once."""
    if depth:
        ctx.spawn_many("tests.family", [{"children": children, "failing": failing, "depth": depth - 1,
                                         "policy": policy, "slow": slow}] * children,
                       keys=[f"family-{n}" for n in range(children)])
    else:
        ctx.spawn_many("tests.count", [{"to": 100, "delay": 0.1} if slow else {"to": 2}] * children)
        for n in range(failing):
            ctx.spawn("tests.fails_at_once", {"marker": str(n)}, key=f"failing-{n}")
    return ctx.wait_for_children(then=then or None, policy=POLICIES[policy])


@executor("tests.family_merge", max_attempts=2, timeout=30)
def family_merge(ctx, **params):
    """A continuation: what the parent's children ended as."""
    return {"resumed": ctx.resumed, "fan_ins": ctx.fan_ins,
            "children": {child.key: [child.state, child.result] for child in ctx.children()}}


@executor("tests.two_rounds", max_attempts=1, timeout=30)
def two_rounds(ctx):
    """Children in two rounds: its own continuation spawns the second, and the third run counts them."""
    if ctx.fan_ins < 2:
        ctx.spawn_many("tests.count", [{"to": 1}] * 2)
        return ctx.wait_for_children(then=ctx.kind)
    return {"children": sorted(child.key for child in ctx.children())}


@executor("tests.limited", max_attempts=3, retry_backoff=0.2, retry_backoff_max=0.2, timeout=60,
          concurrency=Concurrency(2, key=lambda params: params["tenant"]))
def limited(ctx, *, tenant: str, seconds: float = 0.0, fail: bool = False):
    """At most two at once per tenant; sleeps, then fails (and retries) when asked to."""
    time.sleep(seconds)
    if fail and ctx.attempt == 1:
        raise Boom("planned failure on attempt 1")
    return {"tenant": tenant}


@executor("tests.limited_kind", max_attempts=1, timeout=60, concurrency=1)
def limited_kind(ctx, *, seconds: float = 0.0):
    """One at a time, kind-wide: the "never twice at once" lock."""
    time.sleep(seconds)


@executor("tests.limited_by_number", max_attempts=1, timeout=30,
          concurrency=Concurrency(1, key=lambda params: params["n"]))
def limited_by_number(ctx, *, n: int = 0):
    """A key function that returns no string (and raises without ``n``): refused at submit."""


@executor("tests.rated", max_attempts=2, retry_backoff=0.1, retry_backoff_max=0.1, timeout=30,
          rate=Rate(2, "second", key=lambda params: params["tenant"]))
def rated(ctx, *, tenant: str):
    """At most two starts a second per tenant, one every half second."""
    return {"tenant": tenant}
