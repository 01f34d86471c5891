"""Errors as stored on goals and attempts: type, message and traceback, as JSON."""

from __future__ import annotations

import traceback as tb
from typing import Any


def error_record(exc: BaseException, traceback_text: str | None = None) -> dict[str, Any]:
    """The stored form of ``exc``. ``traceback_text`` is Celery's formatted traceback when known."""
    kind = type(exc)
    if traceback_text is None:
        traceback_text = "".join(tb.format_exception(exc))
    return {
        "type": f"{kind.__module__}.{kind.__qualname__}" if kind.__module__ != "builtins" else kind.__qualname__,
        "message": str(exc)[:2000],
        "traceback": traceback_text[-20000:],
    }
