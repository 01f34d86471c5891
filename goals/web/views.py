"""The JSON API's endpoints. Writes go through ``goals.submitting.people``; these only check, call and shape.

Visibility is the whole authorisation model: a user sees (and may cancel or retry) the goals they own,
staff see all. Anything a caller may not see answers exactly as a goal that does not exist, so an id
cannot be probed for existence.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse

from goals.exceptions import GoalNotFound, GoalValidationError, TransitionNotAllowed
from goals.models import Cause, Goal
from goals.querysets import GoalQuerySet
from goals.selectors import goal_for_status
from goals.submitting.people import goal_cancel, goal_reschedule, goal_retry
from goals.submitting.submit import goal_submit, goal_submit_many, scoped_idempotency_key
from goals.waits import events
from goals.web import inputs
from goals.web.auth import Caller
from goals.web.cursor import BadCursor
from goals.web.endpoint import api_endpoint, bulk_body_limit
from goals.web.http import ApiError, conditional_json_response, invalid, json_response, read_json_object
from goals.web.listing import goal_page
from goals.web.openapi import openapi_document
from goals.web.serialize import ensure_links_resolve, goal_json


def _visible(caller: Caller) -> GoalQuerySet:
    return Goal.objects.visible_to(caller.user)


def _not_found() -> ApiError:
    # One body for unknown, malformed and not-yours alike.
    return ApiError(404, "not_found")


def _goal_pk(goal_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(goal_id)
    except ValueError:
        raise _not_found() from None


@api_endpoint("GET", "POST")
def goal_collection(request: HttpRequest, caller: Caller) -> HttpResponse:
    """``GET``: the caller's goals, newest first, a page at a time. ``POST``: submit a goal."""
    if request.method == "POST":
        return _submit(request, caller)
    return _list(request, caller)


def _refuse_unless_links_resolve() -> None:
    # A 500 after the commit would have a retrying client submit the goal again: refuse before writing.
    try:
        ensure_links_resolve()
    except NoReverseMatch:
        raise ApiError(500, "not_configured", detail='the project does not include goals.urls ("goals" '
                       "namespace): nothing was submitted (system check goals.E023)") from None


def _submit(request: HttpRequest, caller: Caller) -> HttpResponse:
    _refuse_unless_links_resolve()
    submission = inputs.submission(read_json_object(request, required=True))
    try:
        goal, created = goal_submit(
            kind=submission.kind, params=submission.params, deadline=submission.deadline,
            run_after=submission.run_after, countdown=submission.countdown,
            idempotency_key=scoped_idempotency_key(caller.user, submission.idempotency_key),
            owner=caller.user, cause=Cause.API, actor=caller.username,
        )
    except GoalValidationError as exc:
        problems = exc.message_dict
        # The key's format was checked above, so a complaint about it here is the conflict: the same
        # key (of this caller: keys are scoped) was used for different params.
        if "idempotency_key" in problems:
            raise ApiError(409, "conflict", fields={"idempotency_key": problems["idempotency_key"]}) from None
        raise invalid(problems) from None
    body = goal_json(goal, staff=caller.is_staff)
    if not created:
        return json_response(body)
    return json_response(body, status=202, headers={"Location": body["links"]["self"]})


@api_endpoint("POST", body_limit=bulk_body_limit)
def goal_bulk_submit(request: HttpRequest, caller: Caller) -> HttpResponse:
    """Submit up to ``MAX_BULK_ITEMS`` goals of one kind: all or nothing, one answer per item, in order."""
    _refuse_unless_links_resolve()
    bulk = inputs.bulk_submission(read_json_object(request, required=True))
    try:
        submitted = goal_submit_many(
            kind=bulk.kind, params_list=bulk.params_list, deadline=bulk.deadline, owner=caller.user,
            run_after=bulk.run_after, countdown=bulk.countdown,
            idempotency_keys=[scoped_idempotency_key(caller.user, key) for key in bulk.idempotency_keys],
            cause=Cause.API, actor=caller.username,
        )
    except GoalValidationError as exc:
        # Item problems come as "<index>.<field>"; the request names them "items.<index>.<field>". Keys
        # were checked above, so a complaint about one is a conflict (as for a single submit).
        problems = {name if not name[:1].isdigit() else f"items.{name}": errors
                    for name, errors in exc.message_dict.items()}
        conflicts = {name: errors for name, errors in problems.items() if name.endswith(".idempotency_key")}
        if conflicts:
            raise ApiError(409, "conflict", fields=conflicts) from None
        raise invalid(problems) from None
    results = [{"created": created, "goal": goal_json(goal, staff=caller.is_staff)} for goal, created in submitted]
    # 202 when anything was recorded now; 200 when every item named a goal submitted before.
    return json_response({"results": results}, status=202 if any(r["created"] for r in results) else 200)


def _list(request: HttpRequest, caller: Caller) -> HttpResponse:
    query = inputs.list_query(request.GET, staff=caller.is_staff)
    try:
        page = goal_page(caller.user, query)
    except BadCursor:
        raise invalid({"cursor": "not a cursor this API gave out (malformed or altered)"}) from None
    next_url = (f"{request.path}?{urlencode(query.as_params(cursor=page.next_cursor))}"
                if page.next_cursor else None)
    # Conditional like a single goal's status: a page polling its rows (``?id=...``) gets 304s while
    # nothing on it changes.
    return conditional_json_response(request, {
        "results": [goal_json(goal, staff=caller.is_staff) for goal in page.goals], "next": next_url})


@api_endpoint("GET")
def goal_detail(request: HttpRequest, caller: Caller, goal_id: str) -> HttpResponse:
    """The goal's state, progress, result or error; 304 when the client's ETag still matches."""
    goal = goal_for_status(goal_id=_goal_pk(goal_id), owner_id=None if caller.is_staff else caller.user.pk)
    if goal is None:
        raise _not_found()
    return conditional_json_response(request, goal_json(goal, staff=caller.is_staff))


def _act(request: HttpRequest, caller: Caller, goal_id: str, service: Callable[..., Goal]) -> HttpResponse:
    reason = inputs.action_reason(read_json_object(request, required=False))
    pk = _goal_pk(goal_id)
    if not _visible(caller).filter(pk=pk).exists():
        raise _not_found()
    try:
        goal = service(goal_id=pk, actor=caller.username, reason=reason, cause=Cause.API)
    except GoalNotFound:
        raise _not_found() from None
    except TransitionNotAllowed as exc:
        raise ApiError(409, "conflict", detail=str(exc), state=exc.source) from None
    return json_response(goal_json(goal, staff=caller.is_staff))


@api_endpoint("POST")
def goal_cancel_view(request: HttpRequest, caller: Caller, goal_id: str) -> HttpResponse:
    """Cancel a goal that is not final; 409 if it is."""
    return _act(request, caller, goal_id, goal_cancel)


@api_endpoint("POST")
def goal_retry_view(request: HttpRequest, caller: Caller, goal_id: str) -> HttpResponse:
    """Run a failed, cancelled or expired goal again as a new attempt; 409 otherwise."""
    return _act(request, caller, goal_id, goal_retry)


@api_endpoint("POST")
def goal_reschedule_view(request: HttpRequest, caller: Caller, goal_id: str) -> HttpResponse:
    """Change when a goal that waits to start starts; 409 once it no longer waits, 400 for a bad time."""
    run_after, countdown, reason = inputs.reschedule_request(read_json_object(request, required=True))
    pk = _goal_pk(goal_id)
    if not _visible(caller).filter(pk=pk).exists():
        raise _not_found()
    try:
        goal = goal_reschedule(goal_id=pk, run_after=run_after, countdown=countdown, actor=caller.username,
                               reason=reason, cause=Cause.API)
    except GoalNotFound:
        raise _not_found() from None
    except GoalValidationError as exc:
        raise invalid(exc.message_dict) from None
    except TransitionNotAllowed as exc:
        raise ApiError(409, "conflict", detail=str(exc), state=exc.source) from None
    return json_response(goal_json(goal, staff=caller.is_staff))


@api_endpoint("POST")
def event_view(request: HttpRequest, caller: Caller) -> HttpResponse:
    """An outside event for the goals waiting for it: 202 with the event and the goal it resumed; a goal id
    the caller may not see is a 404. Only the caller's own goals take it (staff: any)."""
    fields = inputs.event_request(read_json_object(request, required=True))
    goal_id = fields["goal_id"]
    if goal_id is not None and (not isinstance(goal_id, str)
                                or not _visible(caller).filter(pk=_goal_pk(goal_id)).exists()):
        raise _not_found()
    try:
        sent = events.send_event(name=fields["name"], payload=fields["payload"], key=fields["key"], goal_id=goal_id,
                                 event_key=fields["event_key"], owner_id=None if caller.is_staff else caller.user.pk,
                                 actor=caller.username)
    except GoalNotFound:
        raise _not_found() from None
    except GoalValidationError as exc:
        raise invalid(exc.message_dict) from None
    body = {"event": sent.id, "duplicate": sent.duplicate, "resumed": str(sent.resumed) if sent.resumed else None}
    return json_response(body, status=200 if sent.duplicate else 202)


@api_endpoint("GET", public=True)
def openapi_schema(request: HttpRequest, caller: None) -> HttpResponse:
    """The OpenAPI 3.1 description of this API; public, like any API's documentation."""
    return json_response(openapi_document(server=reverse("goals:goal-api-schema").removesuffix("schema/")))
