"""How many goals of a kind may run at once: an executor's ``concurrency``, kind-wide or per key.

``@executor("exports.build", concurrency=5)`` lets at most five exports run at any instant across every
worker and host; ``concurrency=Concurrency(1, key=lambda params: params["tenant"])`` lets one reindex run
per tenant (the "never twice at once" lock). The limit is kept by the statement that starts an attempt
(``start_attempt``, counting in ``goals_concurrency``): a goal over it is held, acknowledged without holding a
worker or spending an attempt, and admitted at the same attempt when a slot of its key frees, oldest first.

The key is computed here, from the params, when the goal is submitted, and stored on the goal
(``Goal.limit_key``); the limit itself is read when an attempt starts, so an operator's change
(``KindControl.concurrency``, ``goals.api.set_concurrency``) takes effect without a restart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

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


def limit_key(kind: str, concurrency: Concurrency | None, params: Mapping[str, Any], field: str = "concurrency.key"
              ) -> str:
    """The key a goal's concurrency is counted under: ``""`` (kind-wide, or no limit) unless the executor gives a
    key function; a function that raises or returns something other than a short string is bad input,
    raised as ``GoalValidationError`` naming the executor and ``field`` before anything is written."""
    if concurrency is None or concurrency.key is None:
        return ""
    try:
        key = concurrency.key(dict(params))
    except Exception as exc:
        raise GoalValidationError(
            {field: f"executor {kind!r}: the concurrency key function raised {type(exc).__name__}: {exc}"},
            code="bad_limit_key") from exc
    if not isinstance(key, str):
        raise GoalValidationError(
            {field: f"executor {kind!r}: the concurrency key function returned {type(key).__name__}, not a string"},
            code="bad_limit_key")
    if len(key) > MAX_KEY_LENGTH:
        raise GoalValidationError(
            {field: f"executor {kind!r}: the concurrency key is {len(key)} characters, more than {MAX_KEY_LENGTH}"},
            code="bad_limit_key")
    return key

