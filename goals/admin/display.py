"""How times and errors read on the admin's goal pages: one rendering for the goal and its inlines.

Django's default shows a time to the minute ("Dec. 1, 2026, 6:46 p.m."): the phases of one attempt, and
the journal's events, mostly fall within one minute, so their order was invisible. Errors are stored as
``{"type", "message", "traceback"}`` (``goals.errors``); shown as a raw dict, the attempts' errors were
JSON with literal ``\\n`` and the whole traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html


def timestamp_html(value: datetime | None, *, milliseconds: bool = False) -> str:
    """``2026-12-02 14:30:21`` in the project's time zone (``.123`` added with ``milliseconds``), the
    exact instant in ISO 8601 on hover."""
    if value is None:
        return "-"
    local = timezone.localtime(value)
    shown = local.strftime("%Y-%m-%d %H:%M:%S") + (f".{local.microsecond // 1000:03d}" if milliseconds else "")
    return format_html('<time datetime="{}" title="{}" style="white-space:nowrap">{}</time>',
                       value.isoformat(), local.isoformat(), shown)


def timestamp_field(name: str, *, milliseconds: bool = False, description: str = "") -> Callable[[Any, Any], str]:
    """A read-only admin column or field showing model field ``name`` as ``timestamp_html`` does."""

    @admin.display(description=description or name.removesuffix("_at").replace("_", " "), ordering=name)
    def show(model_admin: Any, obj: Any) -> str:
        return timestamp_html(getattr(obj, name), milliseconds=milliseconds)

    show.__name__ = f"{name}_display"
    return show


def error_html(error: dict[str, Any] | None) -> str:
    """The error's type and message, with its traceback folded beneath (opened on a click)."""
    if not error:
        return "-"
    heading = format_html("<strong>{}</strong>: {}", error.get("type", ""), error.get("message", ""))
    traceback = error.get("traceback") or ""
    if not traceback:
        return heading
    return format_html("{}<details><summary>traceback</summary>"
                       "<pre style='white-space:pre-wrap;margin:0'>{}</pre></details>", heading, traceback)
