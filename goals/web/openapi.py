"""The OpenAPI 3.1 description of the JSON API, served at ``/api/schema/``.

Written by hand (no schema generator in the dependencies); ``tests/db/test_openapi.py`` keeps it honest by
producing every documented status of every operation against the real views, and by checking that
every route in ``goals.web.urls`` is documented. Paths are relative to the server URL (the mount point).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from goals.conf import goal_settings
from goals.lifecycle.states import GoalState
from goals.web.inputs import MAX_BULK_ITEMS

_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _body(schema: str, *, required: bool) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": _ref("schemas", schema)}}}


def _responses(ok: dict[str, Any], *errors: str) -> dict[str, Any]:
    """``ok`` (status -> response) plus the shared error responses named by status."""
    return {**ok, **{status: _ref("responses", ERROR_RESPONSES[status][0]) for status in errors}}


def _goal(description: str, **headers: Any) -> dict[str, Any]:
    response = {"description": description, "content": {"application/json": {"schema": _ref("schemas", "Goal")}}}
    return {**response, "headers": headers} if headers else response


# status -> (component name, description); every error body is an ``Error``.
ERROR_RESPONSES: dict[str, tuple[str, str]] = {
    "400": ("Invalid", "Invalid input: `fields` maps each offending field or query parameter to its problems."),
    "401": ("Unauthenticated", "No valid credentials. `WWW-Authenticate: Token` is set."),
    "403": ("Forbidden", "A session-authenticated unsafe request without a valid CSRF token (`csrf_failed`), or a "
                         "user who is not staff where staff are required (`forbidden`)."),
    "404": ("NotFound", 'No such goal, a malformed id, or a goal of another user: always `{"error": "not_found"}`.'),
    "405": ("MethodNotAllowed", "The path does not allow this request's method (answered for any method the path "
                                "does not list); `Allow` names the ones it does."),
    "409": ("Conflict", "Refused in the goal's current state (`detail`, `state`), or an idempotency key reused "
                        "with different input (`fields.idempotency_key`)."),
    "413": ("TooLarge", "The body is larger than `GOALS_API_MAX_BODY_BYTES` (`GOALS_API_MAX_BULK_BODY_BYTES` for a "
                        "bulk submit; `limit` says which figure applied)."),
    "415": ("UnsupportedMediaType", "A body was sent without `Content-Type: application/json`."),
    "503": ("Unavailable", "The database did not answer (down, restarting, a deadlock): send the same request "
                           "again after `Retry-After` seconds. A write may or may not have been recorded; its "
                           "`idempotency_key` or `event_key` makes the retry apply it once."),
}
_ERROR_HEADERS = {
    "401": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Token`."}},
    "405": {"Allow": {"schema": {"type": "string"}, "description": "The methods the path allows."}},
    "503": {"Retry-After": {"schema": {"type": "string"}, "description": "Seconds to wait before retrying."}},
}
_WRITE_ERRORS = ("400", "401", "403", "404", "405", "409", "413", "415", "503")
_GOAL_ID = {"name": "goal_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}

# When a goal starts, if later than now: it waits as "scheduled" until then, then it is sent.
_START_FIELDS = {
    "run_after": {"type": "string", "format": "date-time",
                  "description": "ISO-8601 with a timezone: the goal waits (scheduled) until then; the deadline, "
                                 "if any, must come after it."},
    "countdown": {"type": "number", "minimum": 0, "description": "Seconds from now to start; not with run_after."},
}
_SCHEMAS: dict[str, Any] = {
    "Goal": {
        "type": "object",
        "required": ["id", "kind", "state", "attempt", "max_attempts", "progress", "params", "result", "error",
                     "created_at", "started_at", "finished_at", "deadline", "run_after", "waits_for", "needs_review",
                     "family", "links"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "kind": {"type": "string"},
            "state": {"type": "string", "enum": GoalState.values},
            "attempt": {"type": "integer", "description": "Number of the current attempt."},
            "max_attempts": {"type": "integer"},
            "progress": _ref("schemas", "Progress"),
            "params": {"type": "object", "description": "The params as submitted (own goals, or staff)."},
            "result": {"description": "What the executor returned, once succeeded; else null."},
            "error": {"oneOf": [_ref("schemas", "StoredError"), {"type": "null"}]},
            "created_at": {"type": "string", "format": "date-time"},
            "started_at": _NULLABLE_TIME,
            "finished_at": _NULLABLE_TIME,
            "deadline": _NULLABLE_TIME,
            "run_after": {**_NULLABLE_TIME, "description": "When the goal was to start, if submitted to start "
                                                            "later (state scheduled until then); null once it ends."},
            "waits_for": {"oneOf": [_ref("schemas", "Wait"), {"type": "null"}],
                          "description": "What it waits for, holding no worker, and until when; null if it is not "
                                         "scheduled or waiting."},
            "needs_review": {"type": "boolean", "description": "The reconciler flagged it for a person."},
            "family": {"oneOf": [_ref("schemas", "Family"), {"type": "null"}],
                       "description": "Its parent and its children, if it has either."},
            "links": {
                "type": "object", "required": ["self", "cancel", "retry", "page"],
                "properties": {name: {"type": "string", "format": "uri-reference"}
                               for name in ("self", "cancel", "retry", "page")},
                "description": "`page` is the live progress page for people.",
            },
        },
    },
    "Family": {
        "type": "object", "required": ["parent", "children"],
        "properties": {
            "parent": {"oneOf": [{"type": "null"}, {
                "type": "object", "required": ["id", "key", "links"],
                "properties": {"id": {"type": "string", "format": "uuid"},
                               "key": {"type": "string", "description": "Its key among its siblings."},
                               "links": {"type": "object"}}}]},
            "children": {"oneOf": [{"type": "null"}, {
                "type": "object",
                "required": ["total", "final", "succeeded", "failed", "active", "policy", "continuation", "percent"],
                "properties": {
                    **{name: {"type": "integer"} for name in ("total", "final", "succeeded", "failed", "active")},
                    "policy": {"type": "string", "description": "fail fast, tolerate N failed, or wait for all."},
                    "continuation": {"type": "string", "description": "The executor that runs once they end."},
                    "percent": {"type": "number", "description": "How far the whole has come: the final "
                                "children, and on a goal's own status the active ones' progress too."}}}]},
        },
    },
    "Progress": {
        "type": "object", "required": ["current", "total", "percent", "message"],
        "properties": {"current": {"type": "integer"}, "total": {"type": ["integer", "null"]},
                       "percent": {"type": ["number", "null"]}, "message": {"type": "string"}},
    },
    "StoredError": {
        "type": "object", "required": ["type", "message"],
        "properties": {"type": {"type": "string"}, "message": {"type": "string"},
                       "traceback": {"type": "string", "description": "Staff only."}},
    },
    "GoalPage": {
        "type": "object", "required": ["results", "next"],
        "properties": {"results": {"type": "array", "items": _ref("schemas", "Goal")},
                       "next": {"type": ["string", "null"], "format": "uri-reference",
                                "description": "The next page (same filters), or null on the last page."}},
    },
    "SubmitRequest": {
        "type": "object", "required": ["kind"], "additionalProperties": False,
        "properties": {
            "kind": {"type": "string", "description": "A registered executor."},
            "params": {"type": "object", "description": "Keyword arguments of the executor."},
            "idempotency_key": {"type": "string", "minLength": 1, "maxLength": 200,
                                "description": "Submitting the same kind and key again (same caller) returns the "
                                               "existing goal with 200; different params give 409."},
            "deadline": {"type": "string", "format": "date-time",
                         "description": "ISO-8601 with a timezone; the goal expires if not final by then."},
            **_START_FIELDS,
        },
    },
    "BulkSubmitRequest": {
        "type": "object", "required": ["kind", "items"], "additionalProperties": False,
        "properties": {
            "kind": {"type": "string", "description": "A registered executor: every goal of the request is of it."},
            "items": {
                "type": "array", "minItems": 1, "maxItems": MAX_BULK_ITEMS,
                "items": {"type": "object", "additionalProperties": False, "properties": {
                    "params": {"type": "object", "description": "Keyword arguments of the executor."},
                    "idempotency_key": {"type": "string", "minLength": 1, "maxLength": 200,
                                        "description": "As for a single submit: a key used before (same caller "
                                                       "and kind) answers with its goal, `created` false."}}},
            },
            "deadline": {"type": "string", "format": "date-time", "description": "For every goal of the request."},
            **_START_FIELDS,
        },
    },
    "BulkSubmitResult": {
        "type": "object", "required": ["results"],
        "properties": {"results": {
            "type": "array", "description": "One per item, in the request's order.",
            "items": {"type": "object", "required": ["created", "goal"],
                      "properties": {"created": {"type": "boolean",
                                                 "description": "False: the goal an idempotency key named."},
                                     "goal": _ref("schemas", "Goal")}}}},
    },
    "Wait": {
        "type": "object", "required": ["what", "until", "summary"],
        "properties": {
            "what": {"type": "string", "enum": ["start", "event", "children", "slot", "rate", "pause"]},
            "until": {**_NULLABLE_TIME, "description": "Its start time, its wait's deadline, or its turn under its "
                                                       "kind's rate; null for none."},
            "summary": {"type": "string", "description": "As a person reads it, e.g. 'waits for payment.captured "
                                                        "(order:42) until 2026-12-06 14:00:00'."},
            "event": {"type": "string"},
            "key": {"type": ["string", "null"], "description": "The event's correlation key, or the key of the "
                                                               "concurrency limit a held goal waits under."},
            "children_left": {"type": "integer"},
            "kind": {"type": "string", "description": "A held goal's kind: whose concurrency limit it waits under, or "
                                                          "whose pause."},
        },
    },
    "RescheduleRequest": {
        "type": "object", "additionalProperties": False,
        "description": "The new start time: `run_after` or `countdown`, not both. A time already past starts the goal "
                       "now.",
        "properties": {**_START_FIELDS,
                       "reason": {"type": "string", "maxLength": 1000, "description": "Kept in the goal's journal."}},
    },
    "EventRequest": {
        "type": "object", "additionalProperties": False, "required": ["name"],
        "description": "An outside event, addressed by `key` (the correlation key a wait declared) or by `goal_id`.",
        "properties": {
            "name": {"type": "string", "maxLength": 100,
                     "description": "Dotted lowercase words, e.g. payment.captured."},
            "key": {"type": "string", "maxLength": 255},
            "goal_id": {"type": "string", "format": "uuid"},
            "payload": {"description": "Any JSON, at most GOALS_EVENT_MAX_PAYLOAD_BYTES."},
            "event_key": {"type": "string", "maxLength": 255,
                          "description": "The sender's id of the event: sent again, it is the same event (200)."},
        },
    },
    "EventResult": {
        "type": "object", "required": ["event", "duplicate", "resumed"],
        "properties": {
            "event": {"type": "integer"},
            "duplicate": {"type": "boolean", "description": "The event_key was sent before: nothing new was recorded."},
            "resumed": {"type": ["string", "null"], "format": "uuid",
                        "description": "The goal it resumed; null if none waits for it yet (kept for the wait)."},
        },
    },
    "Kind": {
        "type": "object",
        "required": ["kind", "concurrency", "declared_concurrency", "set_concurrency", "rate", "paused", "paused_at",
                     "paused_by", "pause_reason", "running", "held"],
        "properties": {
            "kind": {"type": "string"},
            "concurrency": {"type": ["integer", "null"],
                            "description": "The limit in force (per key, if its executor gives a key); null: none."},
            "declared_concurrency": {"type": ["integer", "null"], "description": "Its executor's `concurrency`."},
            "set_concurrency": {"type": ["integer", "null"], "description": "An operator's, over the executor's."},
            "paused": {"type": "boolean"},
            "paused_at": _NULLABLE_TIME,
            "paused_by": {"type": "string"},
            "pause_reason": {"type": "string"},
            "running": {"type": "integer", "description": "Slots of its limit taken (0 for a kind with none)."},
            "rate": {"oneOf": [{"type": "null"}, {
                "type": "object", "required": ["starts", "per_seconds"],
                "properties": {"starts": {"type": "integer"}, "per_seconds": {"type": "number"}}}],
                     "description": "Its rate in force: at most `starts` per `per_seconds`; null for none."},
            "held": {"type": "object", "required": ["slot", "rate", "pause"],
                     "properties": {"slot": {"type": "integer"}, "rate": {"type": "integer"},
                                    "pause": {"type": "integer"}},
                     "description": "Goals held, holding no worker: for a slot of its limit, for their turn under "
                                    "its rate, or for its pause."},
            "changed": {"type": "boolean", "description": "pause: false if it was paused already."},
            "resumed": {"type": "integer", "description": "resume: the goals held for the pause, now sent."},
        },
    },
    "KindList": {
        "type": "object", "required": ["kinds"],
        "properties": {"kinds": {"type": "array", "items": _ref("schemas", "Kind")}},
    },
    "PauseRequest": {
        "type": "object", "additionalProperties": False, "required": ["reason"],
        "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 1000,
                                  "description": "Why: kept in the kind's journal and shown on the overview."}},
    },
    "ConcurrencyRequest": {
        "type": "object", "additionalProperties": False, "required": ["concurrency"],
        "properties": {
            "concurrency": {"type": ["integer", "null"], "minimum": 1,
                            "description": "At most this many running at once; null: back to the executor's own."},
            "reason": {"type": "string", "maxLength": 1000, "description": "Kept in the kind's journal."},
        },
    },
    "ActionRequest": {
        "type": "object", "additionalProperties": False,
        "properties": {"reason": {"type": "string", "maxLength": 1000, "description": "Kept in the goal's journal."}},
    },
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {
            "error": {"type": "string", "enum": ["invalid", "unauthenticated", "csrf_failed", "forbidden", "not_found",
                                                 "method_not_allowed", "conflict", "too_large",
                                                 "unsupported_media_type", "unavailable"]},
            "detail": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            "state": {"type": "string", "description": "The goal's state when a transition was refused."},
            "limit": {"type": "integer", "description": "The largest body accepted, in bytes."},
        },
    },
}


_KIND = {"name": "kind", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "A registered kind, e.g. `reports.build`."}
_KIND_ERRORS = ("400", "401", "403", "404", "405", "413", "415", "503")


def _kind_action(operation_id: str, summary: str, body: dict[str, Any], answer: str) -> dict[str, Any]:
    """A staff action on one kind: ``POST /kinds/{kind}/<action>``, answered with the kind as it is then."""
    return {"parameters": [_KIND],
            "post": {"operationId": operation_id, "summary": f"{summary} (staff only)", "requestBody": body,
                     "responses": _responses({"200": {"description": answer, "content": {
                         "application/json": {"schema": _ref("schemas", "Kind")}}}}, *_KIND_ERRORS)}}


_IF_NONE_MATCH = {"name": "If-None-Match", "in": "header", "schema": {"type": "string"},
                  "description": "An ETag from an earlier answer."}
_NOT_MODIFIED = {"description": "Unchanged since the ETag given in `If-None-Match`; no body."}


def _paths() -> dict[str, Any]:
    action_body = _body("ActionRequest", required=False)
    return {
        "/goals/": {
            "get": {
                "operationId": "listGoals",
                "summary": "The caller's goals (staff: everyone's), newest first, a page at a time",
                "parameters": [
                    {"name": "state", "in": "query", "schema": {"type": "string", "enum": GoalState.values}},
                    {"name": "kind", "in": "query", "schema": {"type": "string"}},
                    {"name": "owner", "in": "query", "schema": {"type": "string"},
                     "description": "A username; staff only."},
                    {"name": "parent", "in": "query", "schema": {"type": "string", "format": "uuid"},
                     "description": "Only the children of this goal."},
                    {"name": "id", "in": "query", "style": "form", "explode": True,
                     "schema": {"type": "array", "items": {"type": "string", "format": "uuid"},
                                "maxItems": goal_settings().api_page_size},
                     "description": "Only these goals (`?id=a&id=b`, at most `GOALS_API_PAGE_SIZE`): one request "
                                    "watches many goals. Ids the caller may not see are left out."},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1},
                     "description": "Goals per page, at most `GOALS_API_PAGE_SIZE` (the default)."},
                    {"name": "cursor", "in": "query", "schema": {"type": "string"},
                     "description": "Opaque; take it from `next`."},
                    _IF_NONE_MATCH,
                ],
                "responses": _responses(
                    {"200": {"description": "A page of goals. `ETag` is set; `Cache-Control: private, no-cache`.",
                             "headers": {"ETag": {"schema": {"type": "string"}}},
                             "content": {"application/json": {"schema": _ref("schemas", "GoalPage")}}},
                     "304": _NOT_MODIFIED},
                    "400", "401", "405", "503"),
            },
            "post": {
                "operationId": "submitGoal",
                "summary": "Submit a goal",
                "requestBody": _body("SubmitRequest", required=True),
                "responses": _responses(
                    {"202": _goal("Recorded; it runs once a worker takes it.",
                                  Location={"schema": {"type": "string"}, "description": "The goal's status URL."}),
                     "200": _goal("The goal submitted earlier with this idempotency key.")},
                    "400", "401", "403", "405", "409", "413", "415", "503"),
            },
        },
        "/goals/bulk": {
            "post": {
                "operationId": "submitGoals",
                "summary": f"Submit up to {MAX_BULK_ITEMS:,} goals of one kind at once",
                "description": "All or nothing: every item is checked first, and a 400 names each bad one as "
                               "`items.<index>.<field>`, with nothing recorded. The body may be up to "
                               "`GOALS_API_MAX_BULK_BODY_BYTES` (2 MiB).",
                "requestBody": _body("BulkSubmitRequest", required=True),
                "responses": _responses(
                    {"202": {"description": "Recorded (at least one new goal); each runs once a worker takes it.",
                             "content": {"application/json": {"schema": _ref("schemas", "BulkSubmitResult")}}},
                     "200": {"description": "Every item named a goal submitted before with its idempotency key.",
                             "content": {"application/json": {"schema": _ref("schemas", "BulkSubmitResult")}}}},
                    "400", "401", "403", "405", "409", "413", "415", "503"),
            },
        },
        "/goals/{goal_id}/": {
            "parameters": [_GOAL_ID],
            "get": {
                "operationId": "getGoal",
                "summary": "A goal's state, progress, result or error",
                "parameters": [_IF_NONE_MATCH],
                "responses": _responses(
                    {"200": _goal("The goal. `ETag` is set; `Cache-Control: private, no-cache`.",
                                  ETag={"schema": {"type": "string"}}),
                     "304": _NOT_MODIFIED},
                    "401", "404", "405", "503"),
            },
        },
        "/goals/{goal_id}/cancel": {
            "parameters": [_GOAL_ID],
            "post": {"operationId": "cancelGoal", "summary": "Cancel a goal that is not final",
                     "requestBody": action_body,
                     "responses": _responses({"200": _goal("The cancelled goal.")}, *_WRITE_ERRORS)},
        },
        "/goals/{goal_id}/retry": {
            "parameters": [_GOAL_ID],
            "post": {"operationId": "retryGoal", "summary": "Run a failed, cancelled or expired goal again",
                     "requestBody": action_body,
                     "responses": _responses({"200": _goal("The goal, pending as a new attempt.")}, *_WRITE_ERRORS)},
        },
        "/goals/{goal_id}/reschedule": {
            "parameters": [_GOAL_ID],
            "post": {"operationId": "rescheduleGoal", "summary": "Change when a goal that waits to start starts",
                     "requestBody": _body("RescheduleRequest", required=True),
                     "responses": _responses({"200": _goal("The goal, scheduled at its new time (or released, if "
                                                           "that time has passed).")}, *_WRITE_ERRORS)},
        },
        "/events/": {
            "post": {"operationId": "sendEvent", "summary": "Send an outside event to the goal waiting for it",
                     "requestBody": _body("EventRequest", required=True),
                     "responses": _responses({
                         "202": {"description": "Recorded (and the goal resumed, if one waited).",
                                 "content": {"application/json": {"schema": _ref("schemas", "EventResult")}}},
                         "200": {"description": "A duplicate (the same event_key): nothing new.",
                                 "content": {"application/json": {"schema": _ref("schemas", "EventResult")}}}},
                         "400", "401", "403", "404", "405", "413", "415", "503")},
        },
        "/kinds/": {
            "get": {"operationId": "listKinds", "summary": "Every kind: its concurrency limit, pause and held goals "
                                                          "(staff only)",
                    "responses": _responses({"200": {"description": "The kinds, by name.", "content": {
                        "application/json": {"schema": _ref("schemas", "KindList")}}}}, "401", "403", "405", "503")},
        },
        "/kinds/{kind}/pause": _kind_action("pauseKind", "Stop a kind's goals from starting, on every worker",
                                            _body("PauseRequest", required=True), "The kind, paused."),
        "/kinds/{kind}/resume": _kind_action("resumeKind", "Let a paused kind's goals start again, oldest first",
                                             action_body, "The kind, running."),
        "/kinds/{kind}/concurrency": _kind_action("setKindConcurrency", "Set a kind's concurrency limit, in force "
                                                  "from the next start", _body("ConcurrencyRequest", required=True),
                                                  "The kind, with its new limit."),
        "/schema/": {
            "get": {"operationId": "getSchema", "summary": "This document", "security": [],
                    "responses": _responses({"200": {"description": "OpenAPI 3.1, JSON.",
                                                     "content": {"application/json": {"schema": {"type": "object"}}}}},
                                            "405")},
        },
    }


def openapi_document(*, server: str) -> dict[str, Any]:
    """The whole description, with ``server`` (the mount point, e.g. ``/api``) as its one server URL."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "goaltrack",
            "version": "1",
            "description": "Submit goals, follow their progress, cancel and retry them. Errors are JSON: "
                           "`{\"error\": \"<code>\", ...}`. Bodies must be `application/json`.",
        },
        "servers": [{"url": server.rstrip("/") or "/"}],
        "security": [{"token": []}, {"bearer": []}, {"session": []}],
        "paths": _paths(),
        "components": {
            "schemas": _SCHEMAS,
            "responses": {
                name: {"description": description,
                       "content": {"application/json": {"schema": _ref("schemas", "Error")}},
                       **({"headers": _ERROR_HEADERS[status]} if status in _ERROR_HEADERS else {})}
                for status, (name, description) in ERROR_RESPONSES.items()
            },
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "header", "name": "Authorization",
                          "description": "`Authorization: Token <key>`; keys come from `manage.py create_api_token`."},
                "bearer": {"type": "http", "scheme": "bearer", "description": "The same key as `Bearer <key>`."},
                "session": {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME,
                            "description": "A logged-in Django session. Unsafe methods also need the CSRF token "
                                           f"(cookie `{settings.CSRF_COOKIE_NAME}`, header `X-CSRFToken`)."},
            },
        },
    }
