"""How times and errors read on the admin's goal pages: one rendering for the goal and its inlines.

Django's default shows a time to the minute ("Dec. 1, 2026, 6:46 p.m."): the phases of one attempt, and
the journal's events, mostly fall within one minute, so their order was invisible. Errors are stored as
``{"type", "message", "traceback"}`` (``goals.executors.error_records``); shown as a raw dict, the attempts' errors were
JSON with literal ``\\n`` and the whole traceback. The goal list's columns read as compact relative
times ("5m", "3s ago", "in 2h"), the exact time on hover: at 1280 px every column must fit beside
the admin's two sidebars.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from goals.ids import short_id
from goals.models import Goal
from goals.palette import STATE_COLOURS, UNKNOWN_STATE_COLOUR


def timestamp_html(value: datetime | None, *, milliseconds: bool = False, stacked: bool = False,
                   same_day_as: datetime | None = None) -> str:
    """``2026-12-02 14:30:21`` in the project's time zone (``.123`` added with ``milliseconds``), the
    exact instant in ISO 8601 on hover.

    For the inlines' tables, which must fit their box at 1280 px: ``stacked`` puts the date above the
    time, and a time on the local day of ``same_day_as`` shows as ``14:30:21`` alone (an attempt's
    phases mostly share the day it was created).
    """
    if value is None:
        return "-"
    local = timezone.localtime(value)
    time = local.strftime("%H:%M:%S") + (f".{local.microsecond // 1000:03d}" if milliseconds else "")
    if same_day_as is not None and timezone.localtime(same_day_as).date() == local.date():
        return _time_html(value, time)
    return _time_html(value, format_html("{}{}{}", local.strftime("%Y-%m-%d"),
                                         mark_safe("<br>") if stacked else " ", time))


def _time_html(value: datetime, shown: str | SafeString, *, style: str = "") -> str:
    local = timezone.localtime(value)
    return format_html('<time datetime="{}" title="{}" style="white-space:nowrap{}">{}</time>',
                       value.isoformat(), local.isoformat(), style, shown)


def compact_duration(delta: timedelta) -> str:
    """The largest whole unit of ``delta``, unsigned: ``45s``, ``12m``, ``3h``, ``5d``."""
    seconds = int(abs(delta.total_seconds()))
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def relative_time_html(value: datetime | None, now: datetime, *, bare: bool = False, alert: bool = False) -> str:
    """``3s ago`` or ``in 2h`` (only ``3s`` when ``bare``), red when ``alert``, the exact time on hover."""
    if value is None:
        return "-"
    duration = compact_duration(now - value)
    shown = duration if bare else (f"{duration} ago" if value <= now else f"in {duration}")
    return _time_html(value, shown, style=";color:#dc3545;font-weight:bold" if alert else "")


def breakable_name(name: str) -> SafeString:
    """``demo.slow_export`` or ``celery@host.example.com`` allowed to wrap after each dot, ``@`` and ``_``,
    and only there: a long kind, error type or worker name takes a few short lines instead of widening its
    column, and never breaks inside a word (``demo.account_report`` as ``demo.account_`` / ``report`` at
    worst, never ``demo.account_repo`` / ``rt``)."""
    parts = [part for part in re.split(r"(?<=[.@_])", name) if part]
    return format_html_join(mark_safe("<wbr>"), '<span style="white-space:nowrap">{}</span>', ((p,) for p in parts))


def timestamp_field(name: str, *, milliseconds: bool = False, stacked: bool = False,
                    description: str = "") -> Callable[[Any, Any], str]:
    """A read-only admin column or field showing model field ``name`` as ``timestamp_html`` does."""

    @admin.display(description=description or name.removesuffix("_at").replace("_", " "), ordering=name)
    def show(model_admin: Any, obj: Any) -> str:
        return timestamp_html(getattr(obj, name), milliseconds=milliseconds, stacked=stacked)

    show.__name__ = f"{name}_display"
    return show


def error_html(error: dict[str, Any] | None) -> str:
    """The error's type and message, with its traceback folded beneath (opened on a click)."""
    if not error:
        return "-"
    heading = format_html("<strong>{}</strong>: {}", breakable_name(error.get("type", "")), error.get("message", ""))
    traceback = error.get("traceback") or ""
    if not traceback:
        return heading
    return format_html("{}<details><summary>traceback</summary>"
                       "<pre style='white-space:pre-wrap;margin:0'>{}</pre></details>", heading, traceback)


def state_badge(state: str) -> str:
    return format_html('<span class="goal-state" style="background:{};color:#fff;padding:1px 6px;'
                       'border-radius:8px;white-space:nowrap;font-size:.75rem">{}</span>',
                       STATE_COLOURS.get(state, UNKNOWN_STATE_COLOUR), state)


def short_uuid_html(value: Any) -> str:
    """An id's random end (``goals.ids.short_id``), the whole id on hover (and in the link around it)."""
    return format_html('<code title="{}">{}</code>', str(value), short_id(value))


def progress_bar(goal: Goal, *, width_px: int = 100) -> str:
    percent = goal.progress_percent
    if percent is None:
        return str(goal.progress_current) if goal.progress_current else "-"
    return format_html('<div title="{}" style="width:{}px;background:#e9ecef;border-radius:3px">'
                       '<div style="width:{}%;background:#198754;color:#fff;font-size:10px;text-align:right;'
                       'border-radius:3px;min-width:2em;white-space:nowrap">{}%</div></div>',
                       goal.progress_message, width_px, f"{percent:.0f}", f"{percent:.0f}")
