"""The kinds an operator controls over HTTP (staff only): their limits, pausing and resuming them.

``GET /api/kinds/`` lists every kind with its concurrency limit, whether it is paused, and how many of its
goals run on a slot or are held; ``POST /api/kinds/<kind>/pause``, ``.../resume`` and ``.../concurrency``
change it through ``goals.submitting.controls``, journaled with the caller's name and reason, and answer the
kind as it is then.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from goals.exceptions import GoalValidationError
from goals.executors.registry import registered_kinds
from goals.models import Cause
from goals.selectors import KindStatus, kind_statuses
from goals.submitting import controls
from goals.web import inputs
from goals.web.auth import Caller
from goals.web.endpoint import api_endpoint
from goals.web.http import ApiError, invalid, json_response, read_json_object


def kind_json(status: KindStatus) -> dict[str, Any]:
    return {"kind": status.kind, "concurrency": status.limit, "declared_concurrency": status.declared,
            "set_concurrency": status.concurrency, "paused": status.paused, "paused_at": status.paused_at,
            "paused_by": status.paused_by, "pause_reason": status.pause_reason, "running": status.running,
            "rate": {"starts": status.rate[0], "per_seconds": status.rate[1]} if status.rate else None,
            "held": {"slot": status.held_for_slot, "rate": status.held_for_rate, "pause": status.held_for_pause}}


def _staff(caller: Caller) -> None:
    if not caller.is_staff:
        raise ApiError(403, "forbidden", detail="only staff may see and change kinds")


def _known(kind: str) -> None:
    """404 for a kind no executor registers (checked before anything is written)."""
    if kind not in registered_kinds():
        raise ApiError(404, "not_found")


def _kind(kind: str) -> dict[str, Any]:
    """The kind as it is now, once its change is made."""
    [status] = [status for status in kind_statuses() if status.kind == kind]
    return kind_json(status)


@api_endpoint("GET")
def kind_list(request: HttpRequest, caller: Caller) -> HttpResponse:
    """Every registered kind with its limit, pause and held goals."""
    _staff(caller)
    return json_response({"kinds": [kind_json(status) for status in kind_statuses()]})


@api_endpoint("POST")
def kind_pause(request: HttpRequest, caller: Caller, kind: str) -> HttpResponse:
    """Pause a kind (a reason is required); 200 whether it was running or paused already (``changed``)."""
    _staff(caller)
    reason = inputs.action_reason(read_json_object(request, required=True))
    _known(kind)
    try:
        changed = controls.pause(kind=kind, actor=caller.username, reason=reason)
    except GoalValidationError as exc:
        raise invalid(exc.message_dict) from None
    return json_response({**_kind(kind), "changed": changed})


@api_endpoint("POST")
def kind_resume(request: HttpRequest, caller: Caller, kind: str) -> HttpResponse:
    """Resume a kind and send the goals held for its pause; ``resumed`` says how many."""
    _staff(caller)
    reason = inputs.action_reason(read_json_object(request, required=False))
    _known(kind)
    resumed = controls.resume(kind=kind, actor=caller.username, cause=Cause.API, reason=reason)
    return json_response({**_kind(kind), "resumed": resumed})


@api_endpoint("POST")
def kind_concurrency(request: HttpRequest, caller: Caller, kind: str) -> HttpResponse:
    """Set a kind's concurrency limit (``null``: back to its executor's), in force from the next start."""
    _staff(caller)
    limit, reason = inputs.concurrency_request(read_json_object(request, required=True))
    _known(kind)
    try:
        controls.set_concurrency(kind=kind, limit=limit, actor=caller.username, cause=Cause.API, reason=reason)
    except GoalValidationError as exc:
        raise invalid(exc.message_dict) from None
    return json_response(_kind(kind))
