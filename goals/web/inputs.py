"""What clients send, checked: request bodies and query strings become typed values, or a 400 naming the field.

``goal_submit`` validates kind, params, key, deadline and start time again: these checks are only the ones that
depend on HTTP (JSON types, ISO-8601 text, unknown fields, query parameters).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from goals.conf import goal_settings
from goals.executors.validation import key_problem
from goals.lifecycle.states import GoalState
from goals.web.http import invalid

SUBMIT_FIELDS = ("kind", "params", "idempotency_key", "deadline", "run_after", "countdown")
BULK_SUBMIT_FIELDS = ("kind", "items", "deadline", "run_after", "countdown")
BULK_ITEM_FIELDS = ("params", "idempotency_key")
# Goals one bulk request may submit: one statement, and an answer a client can read item by item.
MAX_BULK_ITEMS = 1_000
ACTION_FIELDS = ("reason",)
CONCURRENCY_FIELDS = ("concurrency", "reason")
RESCHEDULE_FIELDS = ("run_after", "countdown", "reason")
EVENT_FIELDS = ("name", "key", "goal_id", "payload", "event_key")
LIST_PARAMETERS = ("state", "kind", "owner", "parent", "id", "limit", "cursor")
# Given once per goal (``?id=a&id=b``): a page that watches its rows asks for all of them in one request.
REPEATABLE_LIST_PARAMETERS = ("id",)
# Keys are stored scoped by owner (``goals.submitting.submit.scoped_idempotency_key``); this leaves room for
# the scope.
MAX_IDEMPOTENCY_KEY_LENGTH = 200
MAX_REASON_LENGTH = 1000


@dataclass(frozen=True)
class Submission:
    kind: str
    params: Any
    idempotency_key: str | None
    deadline: datetime | None
    run_after: datetime | None = None
    countdown: Any = None


@dataclass(frozen=True)
class BulkSubmission:
    kind: str
    params_list: list[Any]
    idempotency_keys: list[str | None]
    deadline: datetime | None
    run_after: datetime | None = None
    countdown: Any = None


@dataclass(frozen=True)
class ListQuery:
    state: str | None
    kind: str | None
    owner: str | None
    limit: int
    cursor: str | None
    ids: tuple[uuid.UUID, ...] = ()
    parent: uuid.UUID | None = None

    def as_params(self, *, cursor: str | None) -> list[tuple[str, str]]:
        """The query string (for ``urlencode``) of another page: the same filters, the given cursor."""
        kept = [("state", self.state), ("kind", self.kind), ("owner", self.owner),
                ("parent", str(self.parent) if self.parent else None),
                *(("id", str(goal_id)) for goal_id in self.ids), ("limit", str(self.limit)), ("cursor", cursor)]
        return [(name, value) for name, value in kept if value is not None]


def _refuse_unknown(names: Any, known: tuple[str, ...], problem: str) -> None:
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise invalid({name: f"{problem}; expected one of: {', '.join(known)}" for name in unknown})


def submission(body: dict[str, Any]) -> Submission:
    _refuse_unknown(body, SUBMIT_FIELDS, "unknown field")
    if "kind" not in body:
        raise invalid({"kind": "this field is required"})
    key = body.get("idempotency_key")
    if problem := _idempotency_key_problem(key):
        raise invalid({"idempotency_key": problem})
    return Submission(kind=body["kind"], params=body.get("params"), idempotency_key=key,
                      deadline=_time("deadline", body.get("deadline")),
                      run_after=_time("run_after", body.get("run_after")), countdown=body.get("countdown"))


def bulk_submission(body: dict[str, Any]) -> BulkSubmission:
    """``{"kind", "items": [{"params", "idempotency_key"}, ...], "deadline"}``; every item's problems are
    named ``items.<index>.<field>`` in one 400."""
    _refuse_unknown(body, BULK_SUBMIT_FIELDS, "unknown field")
    problems = {name: "this field is required" for name in ("kind", "items") if name not in body}
    items = body.get("items", [])
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BULK_ITEMS:
        problems["items"] = f"must be a list of 1 to {MAX_BULK_ITEMS} goals"
    if problems:
        raise invalid(problems)
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems[f"items.{index}"] = f"must be a JSON object, not {type(item).__name__}"
            continue
        problems.update({f"items.{index}.{name}": f"unknown field; expected one of: {', '.join(BULK_ITEM_FIELDS)}"
                         for name in sorted(set(item) - set(BULK_ITEM_FIELDS))})
        if problem := _idempotency_key_problem(item.get("idempotency_key")):
            problems[f"items.{index}.idempotency_key"] = problem
    if problems:
        raise invalid(problems)
    return BulkSubmission(kind=body["kind"], params_list=[item.get("params") for item in items],
                          idempotency_keys=[item.get("idempotency_key") for item in items],
                          deadline=_time("deadline", body.get("deadline")),
                          run_after=_time("run_after", body.get("run_after")), countdown=body.get("countdown"))


def _idempotency_key_problem(key: Any) -> str | None:
    return key_problem(key, max_length=MAX_IDEMPOTENCY_KEY_LENGTH)


def _time(field: str, value: Any) -> datetime | None:
    """An ISO-8601 date and time with its timezone, or a 400 naming ``field``."""
    if value is None:
        return None
    problem = "must be an ISO-8601 date and time with a timezone, e.g. 2030-01-31T12:00:00Z"
    if not isinstance(value, str):
        raise invalid({field: problem})
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None  # well-formed but impossible, like February 30
    if parsed is None or timezone.is_naive(parsed):
        raise invalid({field: problem})
    return parsed


def action_reason(body: dict[str, Any], fields: tuple[str, ...] = ACTION_FIELDS) -> str:
    _refuse_unknown(body, fields, "unknown field")
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > MAX_REASON_LENGTH:
        raise invalid({"reason": f"must be a string of at most {MAX_REASON_LENGTH} characters"})
    return reason


def concurrency_request(body: dict[str, Any]) -> tuple[Any, str]:
    """``{"concurrency", "reason"}``: the new limit (an integer, or null for the executor's own; checked by
    ``goals.submitting.controls``) and the reason given."""
    reason = action_reason(body, CONCURRENCY_FIELDS)
    if "concurrency" not in body:
        raise invalid({"concurrency": "this field is required (null: the executor's own limit)"})
    return body["concurrency"], reason


def reschedule_request(body: dict[str, Any]) -> tuple[datetime | None, Any, str]:
    """``{"run_after" | "countdown", "reason"}``: the new start time and the reason given."""
    reason = action_reason(body, RESCHEDULE_FIELDS)
    return _time("run_after", body.get("run_after")), body.get("countdown"), reason


def event_request(body: dict[str, Any]) -> dict[str, Any]:
    """``{"name", "key" | "goal_id", "payload", "event_key"}``: what ``send_event`` takes (checked there)."""
    _refuse_unknown(body, EVENT_FIELDS, "unknown field")
    if "name" not in body:
        raise invalid({"name": "this field is required"})
    return {field: body.get(field) for field in EVENT_FIELDS}


def list_query(query: QueryDict, *, staff: bool) -> ListQuery:
    _refuse_unknown(query, LIST_PARAMETERS, "unknown parameter")
    repeated = [name for name in query if len(query.getlist(name)) > 1 and name not in REPEATABLE_LIST_PARAMETERS]
    if repeated:
        raise invalid({name: "give this parameter at most once" for name in repeated})
    state = query.get("state") or None
    if state is not None and state not in GoalState.values:
        raise invalid({"state": f"unknown state {state!r}; expected one of: {', '.join(GoalState.values)}"})
    owner = query.get("owner") or None
    if owner is not None and not staff:
        raise invalid({"owner": "only staff may list other users' goals"})
    page_size = goal_settings().api_page_size
    limit_text = query.get("limit", str(page_size))
    if not re.fullmatch(r"[0-9]{1,6}", limit_text) or not 1 <= int(limit_text) <= page_size:
        raise invalid({"limit": f"must be an integer from 1 to {page_size}"})
    parent = query.get("parent") or None
    if parent is not None:
        try:
            parent = uuid.UUID(parent)
        except ValueError:
            raise invalid({"parent": f"{parent!r} is not a goal id (a UUID)"}) from None
    return ListQuery(state=state, kind=query.get("kind") or None, owner=owner, limit=int(limit_text),
                     cursor=query.get("cursor") or None, ids=_goal_ids(query.getlist("id"), page_size),
                     parent=parent)


def _goal_ids(texts: list[str], page_size: int) -> tuple[uuid.UUID, ...]:
    if len(texts) > page_size:
        raise invalid({"id": f"give at most {page_size} ids (GOALS_API_PAGE_SIZE) in one request"})
    ids: dict[uuid.UUID, None] = {}
    for text in texts:
        try:
            ids[uuid.UUID(text)] = None
        except ValueError:
            raise invalid({"id": f"{text!r} is not a goal id (a UUID)"}) from None
    return tuple(ids)
