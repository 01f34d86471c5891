"""Errors as stored on goals and attempts: type, message and traceback, as JSON."""

from __future__ import annotations

import re
import traceback as tb
from typing import Any

# How Python's traceback joins a chained exception to the one before it. ``Task.retry`` raises Celery's
# ``Retry`` inside the executor's ``except`` block (and ``raise self.retry(...) from exc`` would say "direct
# cause"), so a retried attempt's formatted traceback ends in a section about the ``Retry`` itself.
_CHAIN_SEPARATORS = (
    "\nDuring handling of the above exception, another exception occurred:\n",
    "\nThe above exception was the direct cause of the following exception:\n",
)
# The exception line of a section: at column 0, where frame lines are indented.
_CELERY_RETRY_LINE = re.compile(r"^celery\.exceptions\.Retry\b", re.MULTILINE)


def without_celery_retry(traceback_text: str) -> str:
    """``traceback_text`` without its last chained section when that section is Celery's ``Retry``, so that a
    retried attempt's traceback ends at the executor's own exception; any other traceback is returned as is."""
    cut = max(traceback_text.rfind(separator) for separator in _CHAIN_SEPARATORS)
    if cut < 0 or not _CELERY_RETRY_LINE.search(traceback_text, cut):
        return traceback_text
    return traceback_text[:cut]


# What a stored error keeps: the message's start and the traceback's end (where the raise is).
MESSAGE_LIMIT = 2_000
TRACEBACK_LIMIT = 20_000


def stored_error(type_name: str, message: str, traceback_text: str = "") -> dict[str, Any]:
    """The one shape of an error on a goal or an attempt, whoever stores it (the worker, a redelivered
    message, the reconciler): its type, its message and its traceback, each within its limit."""
    return {"type": type_name, "message": message[:MESSAGE_LIMIT], "traceback": traceback_text[-TRACEBACK_LIMIT:]}


def error_record(exc: BaseException, traceback_text: str | None = None) -> dict[str, Any]:
    """The stored form of ``exc``. ``traceback_text`` is Celery's formatted traceback when known; a trailing
    chained ``celery.exceptions.Retry`` is left out of it (see ``without_celery_retry``)."""
    kind = type(exc)
    if traceback_text is None:
        traceback_text = "".join(tb.format_exception(exc))
    name = f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__qualname__
    # Cut after the Retry is dropped, so the length kept is the executor's traceback.
    return stored_error(name, str(exc), without_celery_retry(traceback_text))
