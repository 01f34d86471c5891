"""Log lines about a goal carry its id, kind and attempt as structured fields, so a JSON log pipeline can
group every line of one goal, across processes and attempts.

goaltrack's own lines about a goal pass them with ``extra=`` (``goal_extra``): ``goal_id``, ``goal_kind``,
``goal_attempt`` on the ``LogRecord``. While an attempt runs, ``GoalContextFilter`` adds the same fields to
every other record made in its thread (the executor's own lines, Celery's), unless it has them already. Neither
changes what a plain text formatter prints; to see them, format records as JSON (``JsonFormatter`` here, or a
formatter of the project's choice that prints a record's extra attributes) and add the filter to the handler:

    LOGGING = {
        "version": 1,
        "filters": {"goal": {"()": "goals.logs.GoalContextFilter"}},
        "formatters": {"json": {"()": "goals.logs.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["goal"]}},
        "root": {"handlers": ["console"], "level": "INFO"},
    }
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

GOAL_FIELDS = ("goal_id", "goal_kind", "goal_attempt")

_running: ContextVar[dict[str, Any] | None] = ContextVar("goaltrack_running_goal", default=None)


def goal_extra(goal_id: UUID | str, kind: str | None, attempt: int | None) -> dict[str, Any]:
    """The ``extra=`` of a log line about goal ``goal_id`` (its kind and attempt, where the caller knows them)."""
    return dict(zip(GOAL_FIELDS, (str(goal_id), kind or "", attempt), strict=True))


@contextmanager
def running_goal(goal_id: UUID | str, kind: str, attempt: int) -> Iterator[None]:
    """While the block runs, ``GoalContextFilter`` gives every record of this thread (or task) the goal's fields."""
    token = _running.set(goal_extra(goal_id, kind, attempt))
    try:
        yield
    finally:
        _running.reset(token)


class GoalContextFilter(logging.Filter):
    """Adds the running goal's fields to records made while an attempt runs, unless they have them."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = _running.get()
        if fields:
            for name, value in fields.items():
                if not hasattr(record, name):
                    setattr(record, name, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the goal's fields when the
    record has them, and the formatted exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        line.update({name: getattr(record, name) for name in GOAL_FIELDS if hasattr(record, name)})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
