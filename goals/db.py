"""Prepared statements for the few statements every goal runs (submit, transitions, status reads), and
model instances from their raw rows.

Django binds parameters on the client and never prepares, so PostgreSQL parses and plans each statement
every time; for the transition statement (a CTE over the goal, its attempt and its journal) planning
cost about as much as running it. This cursor binds on the server and prepares once per connection,
going through Django's cursor wrapper all the same (execute wrappers, query logging, error wrapping).

Turn it off with ``GOALS_PREPARED_STATEMENTS = False`` behind a pooler that does not keep prepared
statements across transactions (PgBouncer in transaction mode before 1.21).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import InterfaceError, OperationalError, connection
from django.db.backends.postgresql.base import ServerBindingCursor
from django.db.models import JSONField, Model

from goals.conf import goal_settings

logger = logging.getLogger(__name__)
T = TypeVar("T")
# What Django raises when the database cannot be reached or answer in time (restart, failover, a dropped
# connection, a deadlock or statement timeout): worth waiting out or retrying, unlike a bug in a query.
DATABASE_UNREACHABLE = (OperationalError, InterfaceError)

_NEVER_AUTOMATICALLY = 2**31


class _PreparingCursor(ServerBindingCursor):
    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
                ) -> Any:
        return super().execute(query, params, prepare=True, binary=binary)

    def _send_query_prepared(self, name: bytes, pgq: Any, *, binary: bool | None = None) -> None:
        # psycopg records the query it ran only when it sends it unprepared; Django's query log and
        # execute wrappers read it back (last_executed_query), so record it here too.
        self._query = pgq
        super()._send_query_prepared(name, pgq, binary=binary)


def hot_cursor() -> Any:
    """A cursor for a statement run once per goal or more: prepared, unless turned off by the setting."""
    if not goal_settings().prepared_statements:
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django turns psycopg's preparation off (None), which also ignores prepare=True. Never automatic
        # (Django's own cursors bind on the client and cannot prepare anyway): only these cursors prepare.
        raw.prepare_threshold = _NEVER_AUTOMATICALLY
    with connection.wrap_database_errors:
        return connection._prepare_cursor(_PreparingCursor(raw))


def model_from_row(model: type[Model], names: list[str], values: Any) -> Model:
    """A model instance from a raw row, as the ORM would build it (unselected fields deferred).

    JSON columns arrive as text (Django's connection loads jsonb that way) and are decoded here.
    """
    row = dict(zip(names, values, strict=True))
    fields = [field for field in model._meta.concrete_fields if field.attname in row]
    decoded = [json.loads(row[f.attname]) if isinstance(f, JSONField) and row[f.attname] is not None
               else row[f.attname] for f in fields]
    return model.from_db(connection.alias, [f.attname for f in fields], decoded)


def retry_while_unreachable(write: Callable[[], T], *, within: float, what: str) -> T:
    """Run ``write`` (one statement in its own transaction), again after a pause while the database cannot
    be reached, for at most ``within`` seconds; then raise the last error.

    For the worker's callbacks: a restart of PostgreSQL, a failover or a dropped connection should delay
    them, not lose them. Each try starts from a fresh connection. A transition that committed before its
    answer was lost is refused by its fence on the next try, never applied twice.
    """
    deadline, pause = time.monotonic() + within, 0.2
    while True:
        try:
            return write()
        except DATABASE_UNREACHABLE as exc:
            if time.monotonic() + pause > deadline:
                raise
            logger.warning("%s: database unreachable (%s), trying again in %.1f s", what, exc, pause)
            connection.close()
            time.sleep(pause)
            pause = min(pause * 2, 2.0)
