"""A goal as the API shows it: one function, used by every endpoint, so the shapes cannot drift apart."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

from goals.lifecycle.fan_in import ChildPolicy, whole_progress
from goals.models import Goal
from goals.querysets import WaitsFor, wait_of


def goal_json(goal: Goal, *, staff: bool) -> dict[str, Any]:
    """The goal's public fields. Reads only the goal's own columns: no query, whatever is listed.

    ``params`` are shown because a non-staff caller only ever sees goals they submitted; the stored
    traceback is shown to staff only (it can reveal code, paths and data of the worker).
    """
    goal_id = str(goal.pk)
    return {
        "id": goal_id,
        "kind": goal.kind,
        "state": goal.state,
        "attempt": goal.attempt,
        "max_attempts": goal.max_attempts,
        "progress": {
            "current": goal.progress_current,
            "total": goal.progress_total,
            "percent": goal.progress_percent,
            "message": goal.progress_message,
        },
        "params": goal.params,
        "result": goal.result,
        "error": error_json(goal.error, staff=staff),
        "created_at": goal.created_at,
        "started_at": goal.started_at,
        "finished_at": goal.finished_at,
        "deadline": goal.deadline,
        "run_after": goal.run_after,
        "waits_for": wait_json(goal),
        "needs_review": goal.needs_review,
        "family": family_json(goal),
        "links": goal_links(goal_id),
    }


def family_json(goal: Goal) -> dict[str, Any] | None:
    """Its parent, and the whole of its children: counts, policy, and how far the whole has come (the
    children's own progress included where the status read added it: ``goals.selectors``)."""
    parent = {"id": str(goal.parent_id), "key": goal.child_key, "links": goal_links(str(goal.parent_id))} \
        if goal.parent_id else None
    children = None
    if goal.children_total:
        whole = whole_progress(goal.children_total, goal.children_final,
                               getattr(goal, "children_running_share", 0.0))
        children = {"total": goal.children_total, "final": goal.children_final,
                    "succeeded": goal.children_final - goal.children_failed, "failed": goal.children_failed,
                    "active": goal.children_total - goal.children_final,
                    "policy": str(ChildPolicy(goal.child_failures_allowed)), "continuation": goal.continuation,
                    "percent": round(100 * whole, 1)}
    return {"parent": parent, "children": children} if parent or children else None


def wait_json(goal: Goal) -> dict[str, Any] | None:
    """What the goal waits for, holding no worker, and until when (``goals.querysets.wait_of``)."""
    wait = wait_of(goal)
    if wait is None:
        return None
    shown: dict[str, Any] = {"what": wait.what.value, "until": wait.until, "summary": wait.summary}
    if wait.what == WaitsFor.EVENT:
        shown.update(event=wait.event, key=wait.key)
    elif wait.what == WaitsFor.CHILDREN:
        shown["children_left"] = wait.children_left
    elif wait.what in (WaitsFor.SLOT, WaitsFor.RATE, WaitsFor.PAUSE):
        shown.update(kind=wait.kind, key=wait.key)
    return shown


def error_json(error: Any, *, staff: bool) -> dict[str, Any] | None:
    """The stored error: type and message for everyone, the traceback only for staff."""
    if not error:
        return None
    if not isinstance(error, dict):
        # Not written by ``goals.executors.error_records.error_record``; showing it raw could show anything.
        return {"type": "", "message": ""}
    shown = {"type": error.get("type", ""), "message": error.get("message", "")}
    if staff:
        shown["traceback"] = error.get("traceback", "")
    return shown


_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


@lru_cache(maxsize=8)
def _link_templates(prefix: str, urlconf: str | None) -> dict[str, str]:
    # Four reverse() calls per goal were a tenth of a status request; the URLs differ only by the id.
    return {
        "self": reverse("goals:goal-status", args=[_PLACEHOLDER]),
        "cancel": reverse("goals:goal-cancel", args=[_PLACEHOLDER]),
        "retry": reverse("goals:goal-retry", args=[_PLACEHOLDER]),
        "page": reverse("goals:goal-progress", kwargs={"goal_id": _PLACEHOLDER}),
    }


def goal_links(goal_id: str) -> dict[str, str]:
    """The goal's URLs; raises ``NoReverseMatch`` if the project did not include ``goals.urls``."""
    templates = _link_templates(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    return {name: template.replace(_PLACEHOLDER, goal_id) for name, template in templates.items()}


def ensure_links_resolve() -> None:
    """Raise ``NoReverseMatch`` now if a goal's links cannot be built: a write that would answer with
    them asks first, so a missing route fails the request before anything is committed."""
    goal_links(_PLACEHOLDER)
