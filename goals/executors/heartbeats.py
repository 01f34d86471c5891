"""When a running attempt is stale: its heartbeat is older than the ``heartbeat_timeout`` of the executor
running it (its continuation's, once it handed back with one: ``goals.lifecycle.run_kind``).

The one definition of "stale". ``Goal.objects.stale()`` (and through it the admin's "stale" filter)
reads it as a ``Q``; the reconciler's classifying statement, which binds every kind's timeout as one
array, reads it as SQL. Both come from here, so a goal the admin shows as stale is one the reconciler
calls ``stalled`` (when no final result row says otherwise), and the other way round. A kind no executor
is registered for falls back to ``GOALS_DEFAULT_HEARTBEAT_TIMEOUT``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q

from goals.conf import goal_settings
from goals.exceptions import UnknownExecutor
from goals.executors.registry import get_executor, registered_kinds


def heartbeat_timeout(kind: str) -> float:
    """Seconds a running attempt of ``kind`` may stay silent before it is presumed dead."""
    try:
        return get_executor(kind).heartbeat_timeout
    except UnknownExecutor:
        return goal_settings().default_heartbeat_timeout


def silent_q(now: datetime) -> Q:
    """Goals whose heartbeat at ``now`` is older than the timeout of the executor running their attempt
    (``goals.lifecycle.run_kind``: a continuation's own), one range per kind. The queryset must alias
    ``run_kind=RunKind()``."""
    kinds = registered_kinds()
    condition = Q()
    for kind in kinds:
        condition |= Q(run_kind=kind, heartbeat_at__lt=now - timedelta(seconds=heartbeat_timeout(kind)))
    default = now - timedelta(seconds=goal_settings().default_heartbeat_timeout)
    return condition | (~Q(run_kind__in=kinds) & Q(heartbeat_at__lt=default))


def silent_sql(alias: str, kind_index: str) -> str:
    """The same test in raw SQL, for a statement bound with ``silent_sql_params``; ``kind_index`` is the
    SQL giving the goal's kind's position in the statement's ``%(kinds)s`` array (NULL if not there)."""
    return (f"{alias}.heartbeat_at < %(now)s - make_interval(secs => COALESCE("
            f"(%(heartbeat)s::float8[])[{kind_index}], %(default_heartbeat)s))")


def silent_sql_params(kinds: list[str]) -> dict[str, Any]:
    """The timeouts ``silent_sql`` reads, for ``kinds`` in that order (floats: one array binds one type)."""
    return {"heartbeat": [float(heartbeat_timeout(kind)) for kind in kinds],
            "default_heartbeat": goal_settings().default_heartbeat_timeout}
