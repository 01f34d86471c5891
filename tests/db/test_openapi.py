"""The OpenAPI description matches the API: every documented status of every operation is produced by the real
views (and the body fits its documented schema), and every route is documented.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from django.core.signals import request_started
from django.db import connection
from django.http import HttpResponse
from django.test import Client

from goals.conf import goal_settings
from goals.lifecycle.states import GoalState
from goals.models import Goal
from goals.web.urls import urlpatterns
from tests.conftest import database_url
from tests.db.test_http_api import JSON, act, session_client, submit, token_client
from tests.factories import make_goal

pytestmark = pytest.mark.django_db

UNKNOWN_ID = "6f1c1a4e-0000-4000-8000-000000000000"
NOOP = {"kind": "tests.noop"}
KEYED = {"kind": "tests.typed", "params": {"name": "a"}, "idempotency_key": "k-1"}
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass
class Probe:
    """Alice's clients (token; session with CSRF enforced and no token), an anonymous one, and her goals."""

    alice: Any
    token: Client
    csrf: Client
    anon: Client
    # A staff user's token client: the kinds' routes are for staff.
    staff: Client

    def goal(self, state: GoalState) -> Goal:
        return make_goal(state=state, owner=self.alice, kind="tests.typed", params={"name": "a"})


@pytest.fixture
def probe(django_user_model) -> Probe:
    alice = django_user_model.objects.create_user("alice", password="pw")
    oncall = django_user_model.objects.create_user("oncall", password="pw", is_staff=True)
    return Probe(alice=alice, token=token_client(alice), csrf=session_client(alice, enforce_csrf_checks=True),
                 anon=Client(), staff=token_client(oncall))


@pytest.fixture
def document() -> dict[str, Any]:
    response = Client().get("/api/schema/")
    assert response.status_code == 200
    return response.json()


def oversized() -> bytes:
    return b'{"reason": "' + b"x" * goal_settings().api_max_body_bytes + b'"}'


def submit_twice(p: Probe, second: dict) -> HttpResponse:
    assert submit(p.token, KEYED).status_code == 202
    return submit(p.token, second)


BULK = {"kind": "tests.typed",
        "items": [{"params": {"name": "a"}, "idempotency_key": "b-1"}, {"params": {"name": "b"}}]}


def bulk(client: Client, body: Any) -> HttpResponse:
    return client.post("/api/goals/bulk", body, content_type=JSON)


def bulk_twice(p: Probe, second: dict) -> HttpResponse:
    assert bulk(p.token, {**BULK, "items": BULK["items"][:1]}).status_code == 202
    return bulk(p.token, second)


def bulk_oversized() -> bytes:
    from goals.web.endpoint import bulk_body_limit

    return b'{"kind": "tests.noop", "items": [{"params": {"pad": "' + b"x" * bulk_body_limit() + b'"}}]}'


def not_modified(p: Probe, url: str) -> HttpResponse:
    return p.token.get(url, headers={"If-None-Match": p.token.get(url)["ETag"]})


def action_exercises(action: str, *, ok: GoalState, refused: GoalState, body: dict | None = None
                     ) -> dict[tuple[str, str], Callable]:
    """``body``: what the action needs besides its reason (the reschedule's new time)."""
    needed = body or {}
    return {
        ("post", "200"): lambda p: act(p.token, p.goal(ok).pk, action, {**needed, "reason": "test"}),
        ("post", "400"): lambda p: act(p.token, p.goal(ok).pk, action, {**needed, "reason": 1}),
        ("post", "401"): lambda p: act(p.anon, p.goal(ok).pk, action, body),
        ("post", "403"): lambda p: act(p.csrf, p.goal(ok).pk, action, body),
        ("post", "404"): lambda p: act(p.token, UNKNOWN_ID, action, body),
        ("post", "409"): lambda p: act(p.token, p.goal(refused).pk, action, body),
        ("post", "413"): lambda p: p.token.generic("POST", f"/api/goals/{p.goal(ok).pk}/{action}", oversized(),
                                                   content_type=JSON),
        ("post", "415"): lambda p: p.token.post(f"/api/goals/{p.goal(ok).pk}/{action}", {"reason": "form"}),
    }


EVENT = {"name": "payment.captured", "key": "order:1", "payload": {"amount": 3}, "event_key": "delivery-1"}


def event(client: Client, body: Any) -> HttpResponse:
    return client.post("/api/events/", body, content_type=JSON)


def event_twice(p: Probe) -> HttpResponse:
    assert event(p.token, EVENT).status_code == 202
    return event(p.token, EVENT)


def kind_exercises(action: str, ok: dict, bad: dict) -> dict[tuple[str, str, str], Callable]:
    """The statuses of a kind's action: ``ok`` is a body it takes, ``bad`` one it refuses."""
    url = f"/api/kinds/tests.limited/{action}"
    return {
        (f"/kinds/{{kind}}/{action}", "post", status): call for status, call in {
            "200": lambda p: p.staff.post(url, ok, content_type=JSON),
            "400": lambda p: p.staff.post(url, bad, content_type=JSON),
            "401": lambda p: p.anon.post(url, ok, content_type=JSON),
            "403": lambda p: p.token.post(url, ok, content_type=JSON),
            "404": lambda p: p.staff.post(f"/api/kinds/no.such/{action}", ok, content_type=JSON),
            "413": lambda p: p.staff.generic("POST", url, oversized(), content_type=JSON),
            "415": lambda p: p.staff.post(url, ok),
        }.items()
    }


# (path, method, status) -> a request that must answer with that status. 405s are exercised per path below.
EXERCISES: dict[tuple[str, str, str], Callable[[Probe], HttpResponse]] = {
    ("/goals/", "get", "200"): lambda p: p.token.get("/api/goals/"),
    ("/goals/", "get", "304"): lambda p: not_modified(p, f"/api/goals/?id={p.goal(GoalState.RUNNING).pk}"),
    ("/goals/", "get", "400"): lambda p: p.token.get("/api/goals/?state=nope"),
    ("/goals/", "get", "401"): lambda p: p.anon.get("/api/goals/"),
    ("/goals/", "post", "202"): lambda p: submit(p.token, NOOP),
    ("/goals/", "post", "200"): lambda p: submit_twice(p, KEYED),
    ("/goals/", "post", "400"): lambda p: submit(p.token, {"params": {}}),
    ("/goals/", "post", "401"): lambda p: submit(p.anon, NOOP),
    ("/goals/", "post", "403"): lambda p: submit(p.csrf, NOOP),
    ("/goals/", "post", "409"): lambda p: submit_twice(p, {**KEYED, "params": {"name": "b"}}),
    ("/goals/", "post", "413"): lambda p: p.token.generic("POST", "/api/goals/", oversized(), content_type=JSON),
    ("/goals/", "post", "415"): lambda p: p.token.post("/api/goals/", NOOP),
    ("/goals/bulk", "post", "202"): lambda p: bulk(p.token, BULK),
    ("/goals/bulk", "post", "200"): lambda p: bulk_twice(p, {**BULK, "items": BULK["items"][:1]}),
    ("/goals/bulk", "post", "400"): lambda p: bulk(p.token, {**BULK, "items": [{"params": {"name": 1}}]}),
    ("/goals/bulk", "post", "401"): lambda p: bulk(p.anon, BULK),
    ("/goals/bulk", "post", "403"): lambda p: bulk(p.csrf, BULK),
    ("/goals/bulk", "post", "409"): lambda p: bulk_twice(p, {**BULK, "items": [
        {"params": {"name": "other"}, "idempotency_key": "b-1"}]}),
    ("/goals/bulk", "post", "413"): lambda p: p.token.generic("POST", "/api/goals/bulk", bulk_oversized(),
                                                              content_type=JSON),
    ("/goals/bulk", "post", "415"): lambda p: p.token.post("/api/goals/bulk", {"kind": "tests.noop"}),
    ("/goals/{goal_id}/", "get", "200"): lambda p: p.token.get(f"/api/goals/{p.goal(GoalState.RUNNING).pk}/"),
    ("/goals/{goal_id}/", "get", "304"): lambda p: not_modified(p, f"/api/goals/{p.goal(GoalState.RUNNING).pk}/"),
    ("/goals/{goal_id}/", "get", "401"): lambda p: p.anon.get(f"/api/goals/{p.goal(GoalState.RUNNING).pk}/"),
    ("/goals/{goal_id}/", "get", "404"): lambda p: p.token.get(f"/api/goals/{UNKNOWN_ID}/"),
    **{("/goals/{goal_id}/cancel", *key): call
       for key, call in action_exercises("cancel", ok=GoalState.RUNNING, refused=GoalState.SUCCEEDED).items()},
    **{("/goals/{goal_id}/retry", *key): call
       for key, call in action_exercises("retry", ok=GoalState.FAILED, refused=GoalState.RUNNING).items()},
    **{("/goals/{goal_id}/reschedule", *key): call
       for key, call in action_exercises("reschedule", ok=GoalState.SCHEDULED, refused=GoalState.QUEUED,
                                         body={"countdown": 60}).items()},
    ("/events/", "post", "202"): lambda p: event(p.token, EVENT),
    ("/events/", "post", "200"): lambda p: event_twice(p),
    ("/events/", "post", "400"): lambda p: event(p.token, {**EVENT, "name": "Not A Name"}),
    ("/events/", "post", "401"): lambda p: event(p.anon, EVENT),
    ("/events/", "post", "403"): lambda p: event(p.csrf, EVENT),
    ("/events/", "post", "404"): lambda p: event(p.token, {"name": "payment.captured", "goal_id": UNKNOWN_ID}),
    ("/events/", "post", "413"): lambda p: p.token.generic("POST", "/api/events/", oversized(), content_type=JSON),
    ("/events/", "post", "415"): lambda p: p.token.post("/api/events/", EVENT),
    ("/kinds/", "get", "200"): lambda p: p.staff.get("/api/kinds/"),
    ("/kinds/", "get", "401"): lambda p: p.anon.get("/api/kinds/"),
    ("/kinds/", "get", "403"): lambda p: p.token.get("/api/kinds/"),
    **kind_exercises("pause", {"reason": "partner outage"}, {"reason": ""}),
    **kind_exercises("resume", {"reason": "partner back"}, {"reason": 7}),
    **kind_exercises("concurrency", {"concurrency": 3}, {"concurrency": 0}),
    ("/schema/", "get", "200"): lambda p: p.anon.get("/api/schema/"),
}


# The 503 of each operation: its usual request, with the database gone as it begins (as a restart does).
DATABASE_AWAY: dict[tuple[str, str, str], Callable[[Probe], HttpResponse]] = {
    (path, method, "503"): EXERCISES[(path, method, ok)] for path, method, ok in [
        ("/goals/", "get", "200"), ("/goals/", "post", "202"), ("/goals/bulk", "post", "202"),
        ("/goals/{goal_id}/", "get", "200"), ("/goals/{goal_id}/cancel", "post", "200"),
        ("/goals/{goal_id}/retry", "post", "200"), ("/goals/{goal_id}/reschedule", "post", "200"),
        ("/events/", "post", "202"), ("/kinds/", "get", "200"), ("/kinds/{kind}/pause", "post", "200"),
        ("/kinds/{kind}/resume", "post", "200"), ("/kinds/{kind}/concurrency", "post", "200")]
}


@contextmanager
def connection_dropped_at_request_start() -> Iterator[None]:
    """The server ends Django's connection as each request begins (``pg_terminate_backend`` from another
    connection), as a database restart or failover does; the connection is closed afterwards."""
    connection.ensure_connection()
    url = database_url(connection.settings_dict)

    def drop(**kwargs: Any) -> None:
        with psycopg.connect(url, autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])

    request_started.connect(drop)
    try:
        yield
    finally:
        request_started.disconnect(drop)
        connection.close()


def operations(document: dict) -> dict[tuple[str, str], dict]:
    return {(path, method): operation for path, item in document["paths"].items()
            for method, operation in item.items() if method in METHODS}


def documented(document: dict) -> set[tuple[str, str, str]]:
    return {(path, method, status) for (path, method), operation in operations(document).items()
            for status in operation["responses"]}


def resolve(document: dict, node: dict) -> dict:
    """Follow local ``$ref`` pointers (the only kind this document uses)."""
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


JSON_TYPES = {"object": dict, "array": list, "string": str, "integer": int, "number": (int, float),
              "boolean": bool, "null": type(None)}


def is_json_type(value: Any, name: str) -> bool:
    # In Python a bool is an int; in JSON Schema true is not an integer.
    return name == "boolean" if isinstance(value, bool) else isinstance(value, JSON_TYPES[name])


def problems(document: dict, value: Any, schema: dict, where: str = "$") -> list[str]:
    """Where ``value`` breaks ``schema``: the JSON Schema keywords this document uses, nothing more."""
    schema = resolve(document, schema)
    if "oneOf" in schema:
        fits = [not problems(document, value, option, where) for option in schema["oneOf"]]
        return [] if fits.count(True) == 1 else [f"{where}: fits {fits.count(True)} of oneOf"]
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else types
        if not any(is_json_type(value, name) for name in names):
            return [f"{where}: {value!r} is not {types}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    found = []
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        found += [f"{where}: missing {name}" for name in schema.get("required", []) if name not in value]
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                found += problems(document, item, properties[name], f"{where}.{name}")
            elif extra is False:
                found.append(f"{where}: undocumented {name}")
            elif isinstance(extra, dict):
                found += problems(document, item, extra, f"{where}.{name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += problems(document, item, schema["items"], f"{where}[{index}]")
    return found


def test_every_route_is_documented_and_every_documented_path_is_routed(document):
    routes = {"/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(pattern.pattern)) for pattern in urlpatterns}
    assert routes == set(document["paths"])
    assert document["servers"] == [{"url": "/api"}]
    assert document["openapi"] == "3.1.0"


def test_every_documented_status_is_exercised(document):
    """The table below produces each documented answer; 405 is documented, and exercised, on every operation."""
    expected = documented(document)
    assert {key for key in expected if key[2] != "405"} == set(EXERCISES) | set(DATABASE_AWAY)
    assert {key[:2] for key in expected if key[2] == "405"} == set(operations(document))


@pytest.mark.parametrize("key", sorted(EXERCISES), ids="{0[1]} {0[0]} {0[2]}".format)
def test_the_documented_answer_is_what_the_view_gives(document, probe, key):
    assert_documented(document, key, EXERCISES[key](probe))


@pytest.mark.django_db(transaction=True)  # the connection is killed: nothing to roll back afterwards
@pytest.mark.parametrize("key", sorted(DATABASE_AWAY), ids="{0[1]} {0[0]} {0[2]}".format)
def test_a_database_that_does_not_answer_is_the_documented_503_in_json(document, probe, key):
    with connection_dropped_at_request_start():
        response = DATABASE_AWAY[key](probe)
    assert_documented(document, key, response)
    assert response["Retry-After"] == "1"
    assert response.json()["error"] == "unavailable"


def assert_documented(document: dict, key: tuple[str, str, str], response: HttpResponse) -> None:
    path, method, status = key
    assert str(response.status_code) == status, response.content
    answer = resolve(document, document["paths"][path][method]["responses"][status])
    for header in answer.get("headers", {}):
        assert header in response, f"{header} is documented"
    if "content" not in answer:
        assert response.content == b""
        return
    assert response["Content-Type"] == JSON
    assert problems(document, response.json(), answer["content"][JSON]["schema"]) == []


@pytest.mark.parametrize("path", ["/goals/", "/goals/bulk", "/goals/{goal_id}/", "/goals/{goal_id}/cancel",
                                  "/goals/{goal_id}/retry", "/goals/{goal_id}/reschedule", "/events/",
                                  "/kinds/", "/kinds/{kind}/pause", "/kinds/{kind}/resume",
                                  "/kinds/{kind}/concurrency", "/schema/"])
def test_every_other_method_is_405_with_the_documented_methods_in_allow(document, probe, path):
    goal = probe.goal(GoalState.FAILED)
    url = "/api" + path.format(goal_id=goal.pk, kind="tests.limited")
    allowed = {method for (documented_path, method) in operations(document) if documented_path == path}
    for method in set(METHODS) - allowed:
        response = getattr(probe.token, method)(url)
        assert response.status_code == 405
        assert set(response["Allow"].lower().split(", ")) == allowed
        answer = resolve(document, document["paths"][path][sorted(allowed)[0]]["responses"]["405"])
        assert problems(document, response.json(), answer["content"][JSON]["schema"]) == []


def test_request_bodies_of_the_examples_fit_their_documented_schemas(document):
    submit_schema = document["paths"]["/goals/"]["post"]["requestBody"]["content"][JSON]["schema"]
    assert problems(document, {**KEYED, "deadline": "2030-01-01T00:00:00Z"}, submit_schema) == []
    assert problems(document, {**NOOP, "colour": 1}, submit_schema) == ["$: undocumented colour"]
    bulk_schema = document["paths"]["/goals/bulk"]["post"]["requestBody"]["content"][JSON]["schema"]
    assert problems(document, {**BULK, "deadline": "2030-01-01T00:00:00Z"}, bulk_schema) == []
    assert problems(document, {**BULK, "items": [{"size": 1}]}, bulk_schema) == ["$.items[0]: undocumented size"]
    assert set(document["components"]["securitySchemes"]) == {"token", "bearer", "session"}
