"""The executor registry: ``@executor("kind.name", ...)`` registers a plain function ``fn(ctx, **params)``.

Installed apps' ``executors`` modules are imported at start-up (``GoalsConfig.ready``), the way
``admin.py`` modules are, so the web process and every worker know the same kinds.
"""

from __future__ import annotations

import inspect
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from goals.conf import goal_settings
from goals.exceptions import UnknownExecutor
from goals.executors.limits import Concurrency, Rate, concurrency_of, rate_of
from goals.executors.param_types import resolve_param_types

KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")


@dataclass(frozen=True)
class ExecutorSpec:
    """A registered executor and how its goals are run."""

    kind: str
    fn: Callable[..., Any]
    max_attempts: int
    retry_backoff: float
    retry_backoff_max: float
    timeout: float
    heartbeat_timeout: float
    idempotent: bool
    queue: str
    retry_on: tuple[type[BaseException], ...]
    signature: inspect.Signature = field(compare=False)
    retry_jitter: bool = True
    # At most this many running at once, kind-wide or per key (``goals.executors.limits``); None: no limit.
    concurrency: Concurrency | None = None
    # At most this many starts per period, kind-wide or per key; None: no limit.
    rate: Rate | None = None

    @cached_property
    def param_types(self) -> dict[str, Any]:
        """The resolved annotations of the executor's params, which submit checks values against.

        Resolved on first use rather than at registration, so an annotation naming something defined
        further down the executors module still resolves; then kept, so a submit never re-evaluates them.
        """
        return resolve_param_types(self.fn, self.signature)

    def backoff(self, attempt: int, minimum: float) -> float:
        """Seconds to wait before the attempt after ``attempt``: exponential, capped, with full jitter unless
        ``retry_jitter`` is off (as Celery's ``retry_backoff``/``retry_jitter``), never below ``minimum``."""
        ceiling = min(self.retry_backoff_max, self.retry_backoff * 2 ** (attempt - 1))
        return max(minimum, random.uniform(0, ceiling) if self.retry_jitter else ceiling)


    @property
    def hard_time_limit(self) -> float:
        return hard_time_limit(self.timeout)


def hard_time_limit(timeout: float) -> float:
    """The hard limit Celery enforces for an attempt whose soft limit is ``timeout``: a moment later, so
    the executor can handle ``SoftTimeLimitExceeded``."""
    return timeout + max(5.0, timeout * 0.1)


_registry: dict[str, ExecutorSpec] = {}


def executor(
    kind: str,
    *,
    max_attempts: int | None = None,
    retry_backoff: float | None = None,
    retry_backoff_max: float | None = None,
    timeout: float | None = None,
    heartbeat_timeout: float | None = None,
    idempotent: bool = True,
    queue: str | None = None,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    retry_jitter: bool = True,
    concurrency: int | Concurrency | None = None,
    rate: str | Rate | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(ctx, **params)`` as the executor of goals of ``kind``.

    ``max_attempts`` bounds every kind of retry (exceptions, and redeliveries after a worker died);
    ``timeout`` is the hard time limit of one attempt; ``heartbeat_timeout`` is how long a running
    attempt may stay silent before it is presumed dead. ``idempotent=False`` says a crashed attempt
    must not be run again automatically (its goal is failed and left for review instead).
    ``retry_backoff`` doubles per attempt up to ``retry_backoff_max``, each delay drawn at random below it
    unless ``retry_jitter=False``; a delay longer than ``GOALS_RETRY_LATER_AFTER`` waits as a scheduled
    attempt in the database. ``concurrency`` (an int, or ``Concurrency(n, key=fn)`` for n per key of the
    params) is how many of the kind may run at once across every worker; ``rate`` (``"100/m"``, or
    ``Rate(100, "minute", key=fn)``) how many may start per period, evenly spaced (``goals.executors.limits``).
    """
    if not KIND_PATTERN.match(kind):
        raise ValueError(f"executor kind {kind!r} must be dotted lowercase words, e.g. 'reports.build'")
    limit, starts = concurrency_of(kind, concurrency), rate_of(kind, rate)

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(fn)
        if not signature.parameters:
            raise TypeError(f"executor {kind!r}: {fn.__qualname__} must take the context as first argument")
        defaults = goal_settings()
        spec = ExecutorSpec(
            kind=kind,
            fn=fn,
            max_attempts=max_attempts if max_attempts is not None else defaults.default_max_attempts,
            retry_backoff=retry_backoff if retry_backoff is not None else defaults.default_retry_backoff,
            retry_backoff_max=(
                retry_backoff_max if retry_backoff_max is not None else defaults.default_retry_backoff_max
            ),
            # Floats whatever the caller wrote: the reconciler binds every kind's limits as one float8[],
            # and one int among floats would make that array fail to bind.
            timeout=float(timeout if timeout is not None else defaults.default_timeout),
            heartbeat_timeout=float(
                heartbeat_timeout if heartbeat_timeout is not None else defaults.default_heartbeat_timeout
            ),
            idempotent=idempotent,
            queue=queue or defaults.task_queue,
            retry_on=retry_on,
            signature=signature,
            retry_jitter=retry_jitter,
            concurrency=limit,
            rate=starts,
        )
        if spec.max_attempts < 1:
            raise ValueError(f"executor {kind!r}: max_attempts must be at least 1")
        existing = _registry.get(kind)
        if existing is not None and existing.fn.__qualname__ != fn.__qualname__:
            raise ValueError(f"executor kind {kind!r} is already registered by {existing.fn.__qualname__}")
        _registry[kind] = spec
        return fn

    return register


def get_executor(kind: str) -> ExecutorSpec:
    try:
        return _registry[kind]
    except KeyError:
        raise UnknownExecutor(kind) from None


def registered_kinds() -> list[str]:
    return sorted(_registry)


def declared_concurrency() -> dict[str, int]:
    """The limit each registered kind declares (``concurrency=``), by kind: what ``start_attempt`` counts
    against unless an operator set another (``KindControl``)."""
    return {kind: spec.concurrency.limit for kind, spec in _registry.items() if spec.concurrency is not None}


def declared_rates() -> dict[str, tuple[int, float]]:
    """The rate each registered kind declares (``rate=``) as (starts, period in seconds), by kind."""
    return {kind: (spec.rate.limit, spec.rate.period) for kind, spec in _registry.items() if spec.rate is not None}
