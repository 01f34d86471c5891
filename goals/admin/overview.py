"""The admin's overview page: goals per state and kind, the oldest active goal, flags, the last pass.

Read through ``goals.selectors``, whose counts follow the active goals and the last day, not the history.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.utils import timezone

from goals.admin.charts import BUCKET, WINDOW, activity_series, activity_svg, running_held_svg
from goals.lifecycle.states import GoalState
from goals.models import Goal
from goals.querysets import ACTIVE_VALUES, FINAL_VALUES
from goals.selectors import (
    StateKindCount,
    goal_active_counts,
    goal_activity,
    goal_finished_counts,
    goal_needs_review_count,
    kind_statuses,
    report_latest_finished,
)

FINISHED_WINDOW_HOURS = 24


def _table(counts: list[StateKindCount], states: tuple[str, ...]) -> dict[str, Any]:
    """Rows per kind, one column per state, with totals."""
    by_kind: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(states, 0))
    for row in counts:
        by_kind[row.kind][row.state] += row.count
    rows = [{"kind": kind, "cells": [cells[state] for state in states], "total": sum(cells.values())}
            for kind, cells in sorted(by_kind.items())]
    totals = [sum(row["cells"][i] for row in rows) for i in range(len(states))]
    return {"states": states, "rows": rows, "totals": totals, "total": sum(totals)}


def _charts(active: list[StateKindCount], now: Any) -> dict[str, Any]:
    """The overview's two charts: the last 24 hours in 5-minute buckets (the last one the current bucket),
    and running against held per kind."""
    end = now - (now - now.replace(minute=0, second=0, microsecond=0)) % BUCKET + BUCKET
    activity = activity_series(goal_activity(since=end - WINDOW, bucket=BUCKET), end=end)
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in active:
        if row.state in (GoalState.RUNNING, GoalState.HELD):
            per_kind[row.kind][row.state == GoalState.HELD] += row.count
    return {"activity_chart": activity_svg(activity, end=end),
            "running_held_chart": running_held_svg([(kind, *counts) for kind, counts in sorted(per_kind.items())])}


def overview_context() -> dict[str, Any]:
    now = timezone.now()
    since = now - timedelta(hours=FINISHED_WINDOW_HOURS)
    oldest = Goal.objects.active().order_by("created_at").only("id", "kind", "state", "created_at").first()
    active = goal_active_counts()
    return {
        **_charts(active, now),
        "active": _table(active, ACTIVE_VALUES),
        "finished": _table(goal_finished_counts(since=since), FINAL_VALUES),
        "finished_window_hours": FINISHED_WINDOW_HOURS,
        "oldest_active": oldest,
        "oldest_active_age": (now - oldest.created_at) if oldest else None,
        "needs_review": goal_needs_review_count(),
        "last_pass": report_latest_finished(),
        # The kinds an operator should know of: paused, limited, or with goals held.
        "controlled_kinds": [status for status in kind_statuses()
                             if status.paused or status.limit is not None or status.held],
    }
