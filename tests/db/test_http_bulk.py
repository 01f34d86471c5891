"""``POST /api/goals/bulk``: up to 1,000 goals of one kind, all or nothing, one answer per item, in order."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from goals.models import Goal, GoalEvent
from goals.web.endpoint import bulk_body_limit
from goals.web.inputs import MAX_BULK_ITEMS
from tests.db.test_http_api import JSON, token_client

pytestmark = pytest.mark.django_db
URL = "/api/goals/bulk"


def bulk(client: Client, body) -> dict:
    response = client.post(URL, body, content_type=JSON)
    return {"status": response.status_code, **response.json()}


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob")


@pytest.fixture
def as_alice(alice) -> Client:
    return token_client(alice)


def test_goals_are_recorded_in_order_owned_by_the_caller_with_one_insert(as_alice, alice,
                                                                          django_capture_on_commit_callbacks):
    items = [{"params": {"name": f"n{i}", "size": i}} for i in range(5)]
    with django_capture_on_commit_callbacks() as callbacks, CaptureQueriesContext(connection) as queries:
        answer = bulk(as_alice, {"kind": "tests.typed", "items": items, "deadline": "2030-01-31T12:00:00Z"})
    assert answer["status"] == 202
    results = answer["results"]
    assert [r["goal"]["params"] for r in results] == [item["params"] for item in items]
    assert [r["created"] for r in results] == [True] * 5
    assert {r["goal"]["state"] for r in results} == {"pending"}
    assert all(r["goal"]["links"]["self"] == f"/api/goals/{r['goal']['id']}/" for r in results)
    goals = Goal.objects.filter(pk__in=[r["goal"]["id"] for r in results])
    assert {(g.owner_id, g.deadline.isoformat()) for g in goals} == {(alice.pk, "2030-01-31T12:00:00+00:00")}
    assert set(GoalEvent.objects.filter(goal__in=goals).values_list("actor", "cause")) == {("alice", "api")}
    # The token lookup, then one statement for the goals with their attempts and journal rows (in the
    # test's transaction, the request's own is a savepoint).
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 2, statements
    assert len(callbacks) == 1, "sent together once the transaction commits"


def test_every_bad_item_is_named_and_nothing_is_written(as_alice):
    answer = bulk(as_alice, {"kind": "tests.typed", "items": [
        {"params": {"name": "ok"}},
        {"params": {"name": 5}},
        "not an object",
        {"params": {"name": "x"}, "colour": "red"},
        {"params": {"name": "x"}, "idempotency_key": 7},
    ]})
    assert answer["status"] == 400
    assert set(answer["fields"]) == {"items.2", "items.3.colour", "items.4.idempotency_key"}, (
        "the HTTP shape of every item is checked before any item's params")
    answer = bulk(as_alice, {"kind": "tests.typed", "items": [{"params": {"name": "ok"}}, {"params": {"name": 5}},
                                                               {"params": {"nope": 1}}]})
    assert (answer["status"], set(answer["fields"])) == (400, {"items.1.params.name", "items.2.params"})
    assert Goal.objects.count() == 0


@pytest.mark.parametrize(("body", "field"), [
    ({"items": [{}]}, "kind"),
    ({"kind": "tests.noop"}, "items"),
    ({"kind": "tests.noop", "items": []}, "items"),
    ({"kind": "tests.noop", "items": {"params": {}}}, "items"),
    ({"kind": "tests.noop", "items": [{}] * (MAX_BULK_ITEMS + 1)}, "items"),
    ({"kind": "tests.nope", "items": [{}]}, "kind"),
    ({"kind": "tests.noop", "items": [{}], "deadline": "tomorrow"}, "deadline"),
    ({"kind": "tests.noop", "items": [{}], "owner": "bob"}, "owner"),
])
def test_bad_requests_are_400_naming_the_field(as_alice, body, field):
    answer = bulk(as_alice, body)
    assert (answer["status"], list(answer["fields"])) == (400, [field])
    assert Goal.objects.count() == 0


def test_keys_answer_with_their_goals_per_caller_and_a_conflict_is_409_with_nothing_written(alice, bob):
    as_alice, as_bob = token_client(alice), token_client(bob)
    first = bulk(as_alice, {"kind": "tests.typed", "items": [{"params": {"name": "a"}, "idempotency_key": "k"}]})
    again = bulk(as_alice, {"kind": "tests.typed", "items": [{"params": {"name": "a"}, "idempotency_key": "k"}]})
    assert (first["status"], again["status"]) == (202, 200)
    assert again["results"][0] == {**first["results"][0], "created": False}
    bobs = bulk(as_bob, {"kind": "tests.typed", "items": [{"params": {"name": "a"}, "idempotency_key": "k"}]})
    assert bobs["results"][0]["created"], "a key is the caller's own"
    assert bobs["results"][0]["goal"]["id"] != first["results"][0]["goal"]["id"]
    conflict = bulk(as_alice, {"kind": "tests.typed", "items": [
        {"params": {"name": "new"}}, {"params": {"name": "other"}, "idempotency_key": "k"}]})
    assert (conflict["status"], list(conflict["fields"])) == (409, ["items.1.idempotency_key"])
    assert Goal.objects.count() == 2, "the new item of the refused request was not kept"


def test_a_thousand_goals_fit_a_bulk_body_above_the_single_submit_limit(as_alice, settings):
    items = [{"params": {"name": "x" * 200}} for _ in range(MAX_BULK_ITEMS)]
    answer = bulk(as_alice, {"kind": "tests.typed", "items": items})
    assert answer["status"] == 202
    assert len(answer["results"]) == MAX_BULK_ITEMS
    assert Goal.objects.count() == MAX_BULK_ITEMS
    padded = b'{"kind": "tests.typed", "items": [{"params": {"name": "' + b"x" * bulk_body_limit() + b'"}}]}'
    response = as_alice.generic("POST", URL, padded, content_type=JSON)
    assert (response.status_code, response.json()["limit"]) == (413, bulk_body_limit())
    # Django's own limit, when lower, is the one a client is told about.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = as_alice.generic("POST", URL, padded, content_type=JSON)
    assert (response.status_code, response.json()["limit"]) == (413, 10_000)
