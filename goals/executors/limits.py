"""How many goals of a kind may run at once, and how many may start per period: an executor's ``concurrency``
and ``rate``, kind-wide or per key.

``@executor("exports.build", concurrency=5)`` lets at most five exports run at any instant across every
worker and host; ``concurrency=Concurrency(1, key=lambda params: params["tenant"])`` lets one reindex run
per tenant (the "never twice at once" lock). The limit is kept by the statement that starts an attempt
(``start_attempt``, counting in ``goals_concurrency``): a goal over it is held, acknowledged without holding a
worker or spending an attempt, and admitted at the same attempt when a slot of its key frees, oldest first.

``rate="100/m"`` (or ``Rate(100, "minute", key=fn)``) lets at most 100 start per minute, spaced evenly as
Celery's ``rate_limit`` spaces them (one every 0.6 s), and never more than 100 in any 60 s: a goal that
comes before its turn is held until then (``held_for`` ``rate``, ``run_after`` its turn), in order.

The keys are computed here, from the params, when the goal is submitted, and stored on the goal
(``Goal.limit_key``, ``Goal.rate_key``); the limits themselves are read when an attempt starts, so an
operator's change (``KindControl``, ``goals.api.set_concurrency``, ``set_rate``) takes effect without a
restart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from goals.exceptions import GoalValidationError

# Longer keys are refused at submit: the key is stored and indexed with the goal.
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Concurrency:
    """At most ``limit`` goals running at once, per value of ``key(params)`` (kind-wide without a key)."""

    limit: int
    key: Callable[[dict[str, Any]], str] | None = None


def concurrency_of(kind: str, value: int | Concurrency | None) -> Concurrency | None:
    """An executor's ``concurrency`` argument as a ``Concurrency``; a bad one raises ``ValueError`` naming the
    executor and the field, when its module is imported (start-up, not the first submit)."""
    if value is None:
        return None
    if not isinstance(value, Concurrency):
        value = Concurrency(value)
    if isinstance(value.limit, bool) or not isinstance(value.limit, int) or value.limit < 1:
        raise ValueError(f"executor {kind!r}: concurrency must be a positive integer, not {value.limit!r}")
    if value.key is not None and not callable(value.key):
        raise ValueError(f"executor {kind!r}: concurrency key must be a function of the params, not {value.key!r}")
    return value


# A rate's unit, in seconds, by each name it may be given (Celery's s, m and h, and the words).
UNITS: dict[str, float] = {
    **dict.fromkeys(("s", "sec", "second", "seconds"), 1.0),
    **dict.fromkeys(("m", "min", "minute", "minutes"), 60.0),
    **dict.fromkeys(("h", "hour", "hours"), 3600.0),
    **dict.fromkeys(("d", "day", "days"), 86400.0),
}


@dataclass(frozen=True)
class Rate:
    """At most ``limit`` starts per ``per`` (``"second"``, ``"minute"``, ``"hour"``, ``"day"``, or Celery's
    ``s``, ``m``, ``h``), per value of ``key(params)`` (kind-wide without a key)."""

    limit: int
    per: str = "minute"
    key: Callable[[dict[str, Any]], str] | None = None

    @property
    def period(self) -> float:
        """The period in seconds."""
        return UNITS[self.per]


def rate_of(kind: str, value: str | Rate | None) -> Rate | None:
    """An executor's ``rate`` argument (``"100/m"`` or a ``Rate``) as a ``Rate``; a bad one raises ``ValueError``
    naming the executor and the field, when its module is imported."""
    if value is None:
        return None
    if isinstance(value, str):
        count, _, unit = value.partition("/")
        try:
            value = Rate(int(count), unit.strip() or "s")
        except ValueError:
            raise ValueError(f"executor {kind!r}: rate must read '<count>/<unit>', e.g. '100/m', "
                             f"not {value!r}") from None
    if not isinstance(value, Rate):
        raise ValueError(f"executor {kind!r}: rate must be '<count>/<unit>' or a Rate, not {value!r}")
    if isinstance(value.limit, bool) or not isinstance(value.limit, int) or value.limit < 1:
        raise ValueError(f"executor {kind!r}: rate must allow a positive integer of starts, not {value.limit!r}")
    if value.per not in UNITS:
        raise ValueError(f"executor {kind!r}: rate unit {value.per!r} is unknown (use one of "
                         f"{', '.join(sorted(UNITS))})")
    if value.key is not None and not callable(value.key):
        raise ValueError(f"executor {kind!r}: rate key must be a function of the params, not {value.key!r}")
    return value


class LimitKeys(NamedTuple):
    """The keys a goal's limits count it under ("" kind-wide, or no limit)."""

    concurrency: str = ""
    rate: str = ""


def limit_keys(kind: str, concurrency: Concurrency | None, rate: Rate | None, params: Mapping[str, Any]
               ) -> LimitKeys:
    """The goal's keys for its executor's concurrency and rate limits (``_key``)."""
    return LimitKeys(_key(kind, concurrency, params, "concurrency.key"), _key(kind, rate, params, "rate.key"))


def _key(kind: str, limit: Concurrency | Rate | None, params: Mapping[str, Any], field: str) -> str:
    """The key a goal is counted under for one limit: ``""`` (kind-wide, or no limit) unless the executor gives
    a key function; a function that raises or returns something other than a short string is bad input,
    raised as ``GoalValidationError`` naming the executor and ``field`` before anything is written."""
    name = field.partition(".")[0]
    if limit is None or limit.key is None:
        return ""
    try:
        key = limit.key(dict(params))
    except Exception as exc:
        raise GoalValidationError(
            {field: f"executor {kind!r}: the {name} key function raised {type(exc).__name__}: {exc}"},
            code="bad_limit_key") from exc
    if not isinstance(key, str):
        raise GoalValidationError(
            {field: f"executor {kind!r}: the {name} key function returned {type(key).__name__}, not a string"},
            code="bad_limit_key")
    if len(key) > MAX_KEY_LENGTH:
        raise GoalValidationError(
            {field: f"executor {kind!r}: the {name} key is {len(key)} characters, more than {MAX_KEY_LENGTH}"},
            code="bad_limit_key")
    return key

