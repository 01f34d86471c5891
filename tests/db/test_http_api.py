"""The HTTP JSON API on real PostgreSQL: submitting, status, ETags, actions, listing, authentication, limits.

No worker is needed: on the ``db`` fixture the test's transaction never commits, so a submitted goal's
dispatch stays an on-commit callback (captured where a test checks it).
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import clear_url_caches
from django.utils import timezone

from goals.conf import goal_settings
from goals.lifecycle.states import GoalState
from goals.models import ApiToken, Goal, GoalEvent
from goals.tokens import api_token_create
from tests.factories import make_goal

pytestmark = pytest.mark.django_db

JSON = "application/json"
GOAL_KEYS = {"id", "kind", "state", "attempt", "max_attempts", "progress", "params", "result", "error", "created_at",
             "started_at", "finished_at", "deadline", "run_after", "waits_for", "needs_review", "family", "links"}
NOT_FOUND = b'{"error": "not_found"}'
CSRF_SECRET = "A" * 32  # any 32 characters of the CSRF alphabet is a valid cookie secret and token


def token_client(user, **kwargs) -> Client:
    _, key = api_token_create(user=user, name="tests")
    return Client(headers={"Authorization": f"Token {key}"}, **kwargs)


def session_client(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="pw")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="pw")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("sam", password="pw", is_staff=True)


@pytest.fixture
def as_alice(alice) -> Client:
    return token_client(alice)


def submit(client: Client, body, **kwargs):
    return client.post("/api/goals/", body, content_type=JSON, **kwargs)


def status_url(goal) -> str:
    return f"/api/goals/{goal.pk}/"


def act(client: Client, goal_id, action: str, body: dict | None = None, **kwargs):
    """POST to a goal's ``cancel`` or ``retry``: without a body (as ``curl -X POST`` sends it), or with JSON."""
    url = f"/api/goals/{goal_id}/{action}"
    if body is None:
        return client.generic("POST", url, b"", **kwargs)
    return client.post(url, body, content_type=JSON, **kwargs)


# --- submitting ----------------------------------------------------------------------------------------------


def test_submit_answers_202_with_the_goal_and_its_status_url(as_alice, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = submit(as_alice, {"kind": "tests.typed", "params": {"name": "a"}})
    assert response.status_code == 202
    body = response.json()
    assert set(body) == GOAL_KEYS
    assert response["Location"] == body["links"]["self"] == f"/api/goals/{body['id']}/"
    assert body["links"]["page"] == f"/goals/{body['id']}/"
    assert (body["kind"], body["state"], body["attempt"]) == ("tests.typed", "pending", 1)
    assert body["params"] == {"name": "a"}
    goal = Goal.objects.get(pk=body["id"])
    assert goal.owner == alice
    assert list(goal.events.values_list("cause", "actor")) == [("api", "alice")]
    assert len(callbacks) == 1, "sent to the broker once the request's transaction commits"


def test_same_idempotency_key_gives_200_with_the_same_goal_and_other_params_409(as_alice):
    body = {"kind": "tests.typed", "params": {"name": "a"}, "idempotency_key": "order-1"}
    first = submit(as_alice, body)
    again = submit(as_alice, body)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    assert "Location" not in again
    conflict = submit(as_alice, {**body, "params": {"name": "b"}})
    assert conflict.status_code == 409
    assert conflict.json()["error"] == "conflict"
    assert "different params" in conflict.json()["fields"]["idempotency_key"][0]
    assert Goal.objects.count() == 1


def test_idempotency_keys_are_scoped_by_caller(alice, bob):
    """Bob's key can neither return Alice's goal nor block hers."""
    body = {"kind": "tests.typed", "params": {"name": "a"}, "idempotency_key": "order-1"}
    from_alice, from_bob = submit(token_client(alice), body), submit(token_client(bob), body)
    assert (from_alice.status_code, from_bob.status_code) == (202, 202)
    assert from_alice.json()["id"] != from_bob.json()["id"]


def test_deadline_with_a_timezone_is_stored(as_alice):
    response = submit(as_alice, {"kind": "tests.noop", "deadline": "2030-01-31T12:00:00+01:00"})
    assert response.status_code == 202
    assert response.json()["deadline"] == "2030-01-31T11:00:00Z"
    assert Goal.objects.get().deadline.isoformat() == "2030-01-31T11:00:00+00:00"


TYPED = {"kind": "tests.typed", "params": {"name": "x"}}
BAD_SUBMISSIONS = [
    ("body", b"{not json"),
    ("body", b"[1, 2]"),
    ("body", b'"a string"'),
    ("body", b""),
    ("kind", {"params": {}}),
    ("kind", {"kind": "tests.nope"}),
    ("kind", {"kind": 42}),
    ("params", {"kind": "tests.typed", "params": ["not", "an", "object"]}),
    ("params", {"kind": "tests.typed", "params": {"size": 2}}),  # missing "name"
    ("params", {"kind": "tests.typed", "params": {"name": "x", "colour": "red"}}),
    ("colour", {**TYPED, "colour": "red"}),
    ("idempotency_key", {**TYPED, "idempotency_key": ""}),
    ("idempotency_key", {**TYPED, "idempotency_key": 7}),
    ("idempotency_key", {**TYPED, "idempotency_key": "k" * 201}),
    ("deadline", {**TYPED, "deadline": "2030-01-01T00:00:00"}),  # no timezone
    ("deadline", {**TYPED, "deadline": "tomorrow"}),
    ("deadline", {**TYPED, "deadline": "2030-02-30T00:00:00Z"}),
    ("deadline", {**TYPED, "deadline": 1893456000}),
]


@pytest.mark.parametrize(("field", "body"), BAD_SUBMISSIONS)
def test_bad_submissions_are_400_naming_the_field(as_alice, field, body):
    response = submit(as_alice, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid"
    assert list(response.json()["fields"]) == [field]
    assert all(isinstance(problem, str) and problem for problem in response.json()["fields"][field])
    assert Goal.objects.count() == 0


def test_params_that_do_not_fit_the_annotations_are_400_naming_each_one(as_alice):
    response = submit(as_alice, {"kind": "tests.typed", "params": {"name": 5, "size": "many"}})
    assert response.status_code == 400, response.content
    assert response.json() == {"error": "invalid", "fields": {"params.name": ["must be str, got int"],
                                                              "params.size": ["must be int, got str"]}}
    assert Goal.objects.count() == 0


def test_a_body_that_is_not_json_is_415(as_alice):
    response = as_alice.post("/api/goals/", {"kind": "tests.noop"})  # multipart form
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


def test_oversized_bodies_are_413_before_and_while_reading(as_alice, settings):
    limit = goal_settings().api_max_body_bytes
    padded = b'{"kind": "tests.noop", "params": {"pad": "' + b"x" * limit + b'"}}'
    response = as_alice.generic("POST", "/api/goals/", padded, content_type=JSON)
    assert (response.status_code, response.json()["error"], response.json()["limit"]) == (413, "too_large", limit)
    # Django's own limit may be the lower one: its RequestDataTooBig is answered the same way.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = submit(as_alice, {"kind": "tests.noop", "params": {"pad": "x" * 200}})
    assert (response.status_code, response.json()["error"]) == (413, "too_large")
    assert Goal.objects.count() == 0


# --- status --------------------------------------------------------------------------------------------------


def test_status_is_one_query_beyond_the_token_lookup(as_alice, alice, django_assert_num_queries):
    goal = make_goal(state=GoalState.RUNNING, owner=alice, progress_current=3, progress_total=4,
                     progress_message="three of four")
    with django_assert_num_queries(2) as queries:
        response = as_alice.get(status_url(goal))
    assert [q["sql"].split(" FROM ")[1].split()[0].strip('"') for q in queries.captured_queries] == [
        "goals_apitoken",  # authentication, with the user joined in
        "goals_goal",
    ]
    body = response.json()
    assert response.status_code == 200
    assert set(body) == GOAL_KEYS
    assert body["progress"] == {"current": 3, "total": 4, "percent": 75.0, "message": "three of four"}
    assert (body["id"], body["state"], body["finished_at"], body["needs_review"]) == (str(goal.pk), "running", None,
                                                                                      False)
    assert body["links"] == {"self": status_url(goal), "cancel": f"/api/goals/{goal.pk}/cancel",
                             "retry": f"/api/goals/{goal.pk}/retry", "page": f"/goals/{goal.pk}/"}


def test_a_parents_status_gives_the_whole_of_its_children_in_the_same_one_query(as_alice, alice,
                                                                               django_assert_num_queries):
    parent = make_goal(state=GoalState.WAITING, owner=alice, children_total=3, children_final=1, children_failed=1,
                       child_failures_allowed=1, continuation="tests.family_merge")
    make_goal(state=GoalState.FAILED, owner=alice, parent=parent, child_key="a")
    running = make_goal(state=GoalState.RUNNING, owner=alice, parent=parent, child_key="b", progress_current=1,
                        progress_total=2)
    make_goal(state=GoalState.QUEUED, owner=alice, parent=parent, child_key="c")
    with django_assert_num_queries(2):
        body = as_alice.get(status_url(parent)).json()
    assert body["family"] == {"parent": None, "children": {
        "total": 3, "final": 1, "succeeded": 0, "failed": 1, "active": 2, "policy": "tolerate 1 failed",
        "continuation": "tests.family_merge", "percent": 50.0}}, "(1 final + half of one running) of 3"
    child = as_alice.get(status_url(running)).json()
    assert child["family"] == {"parent": {"id": str(parent.pk), "key": "b", "links": body["links"]}, "children": None}
    assert as_alice.get(status_url(make_goal(owner=alice))).json()["family"] is None


def test_status_is_one_query_beyond_the_session_lookup(alice, django_assert_num_queries):
    goal = make_goal(owner=alice)
    client = session_client(alice)
    with django_assert_num_queries(3) as queries:
        response = client.get(status_url(goal))
    assert response.status_code == 200
    tables = [q["sql"].split(" FROM ")[1].split()[0].strip('"') for q in queries.captured_queries]
    assert tables == ["django_session", "auth_user", "goals_goal"]


def test_etag_gives_304_until_the_goal_changes(as_alice, alice, django_assert_num_queries):
    goal = make_goal(state=GoalState.RUNNING, owner=alice)
    first = as_alice.get(status_url(goal))
    etag = first["ETag"]
    assert etag.startswith('"'), "strong: the body is hashed byte for byte"
    assert first["Cache-Control"] == "private, no-cache"
    with django_assert_num_queries(2):
        unchanged = as_alice.get(status_url(goal), headers={"If-None-Match": etag})
    assert (unchanged.status_code, unchanged.content, unchanged["ETag"]) == (304, b"", etag)
    assert as_alice.get(status_url(goal), headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert act(as_alice, goal.pk, "cancel").status_code == 200
    changed = as_alice.get(status_url(goal), headers={"If-None-Match": etag})
    assert (changed.status_code, changed.json()["state"]) == (200, "cancelled")
    assert changed["ETag"] != etag


def test_the_traceback_is_shown_to_staff_only(alice, staff):
    error = {"type": "tests.executors.Boom", "message": "planned", "traceback": "Traceback ...\n  line 1"}
    goal = make_goal(state=GoalState.FAILED, owner=alice, error=error)
    assert token_client(alice).get(status_url(goal)).json()["error"] == {"type": "tests.executors.Boom",
                                                                         "message": "planned"}
    assert token_client(staff).get(status_url(goal)).json()["error"] == error


# --- cancel and retry ----------------------------------------------------------------------------------------


def test_cancel_and_retry_call_the_services_as_the_user(as_alice, alice, django_capture_on_commit_callbacks):
    goal = make_goal(state=GoalState.RUNNING, owner=alice, kind="tests.typed")
    cancelled = act(as_alice, goal.pk, "cancel", {"reason": "not needed"})
    assert (cancelled.status_code, cancelled.json()["state"]) == (200, "cancelled")
    event = goal.events.get()
    assert (event.transition, event.cause, event.actor, event.details) == ("cancel", "api", "alice",
                                                                           {"reason": "not needed"})
    refused = act(as_alice, goal.pk, "cancel")
    assert refused.status_code == 409
    assert refused.json() == {"error": "conflict", "state": "cancelled",
                              "detail": f"goal {goal.pk}: cannot cancel from cancelled to cancelled"}
    with django_capture_on_commit_callbacks() as callbacks:
        retried = act(as_alice, goal.pk, "retry")
    assert (retried.status_code, retried.json()["state"], retried.json()["attempt"]) == (200, "pending", 2)
    assert len(callbacks) == 1, "the new attempt is sent on commit"
    assert goal.events.latest("id").actor == "alice"
    done = make_goal(state=GoalState.SUCCEEDED, owner=alice)
    assert act(as_alice, done.pk, "retry").json()["error"] == "conflict"


@pytest.mark.parametrize("body", [{"reason": 5}, {"reason": "r" * 1001}, {"why": "x"}])
def test_a_bad_action_body_is_400_naming_the_field(as_alice, alice, body):
    goal = make_goal(state=GoalState.RUNNING, owner=alice)
    response = act(as_alice, goal.pk, "cancel", body)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == list(body)
    assert Goal.objects.get(pk=goal.pk).state == GoalState.RUNNING


def test_an_action_body_that_is_not_json_is_415(as_alice, alice):
    goal = make_goal(state=GoalState.RUNNING, owner=alice)
    response = as_alice.post(f"/api/goals/{goal.pk}/cancel", {"reason": "form"})  # multipart form
    assert (response.status_code, response.json()["error"]) == (415, "unsupported_media_type")
    assert Goal.objects.get(pk=goal.pk).state == GoalState.RUNNING


def test_staff_may_cancel_anyones_goal(alice, staff):
    goal = make_goal(state=GoalState.QUEUED, owner=alice)
    assert act(token_client(staff), goal.pk, "cancel").json()["state"] == "cancelled"
    assert goal.events.get().actor == "sam"


# --- who sees what -------------------------------------------------------------------------------------------


def test_every_probe_of_another_users_goal_is_the_same_404(alice, bob):
    states = [GoalState.QUEUED, GoalState.RUNNING, GoalState.FAILED, GoalState.SUCCEEDED, GoalState.CANCELLED]
    goals = [make_goal(state=states[i % len(states)], owner=alice) for i in range(50)]
    before = dict(Goal.objects.values_list("pk", "state"))
    ids = [str(goal.pk) for goal in goals]
    ids += ["6f1c1a4e-0000-4000-8000-000000000000", "not-a-uuid", "1", "00000000-0000-0000-0000-00000000000g",
            str(goals[0].pk).upper().replace("-", "")]  # another spelling of a real id: still not bob's
    answers = []
    for client in (token_client(bob), session_client(bob)):
        for goal_id in ids:
            answers += [client.get(f"/api/goals/{goal_id}/"), act(client, goal_id, "cancel"),
                        act(client, goal_id, "retry")]
    assert len(answers) == 2 * 3 * 55
    assert {(answer.status_code, answer.content) for answer in answers} == {(404, NOT_FOUND)}
    assert dict(Goal.objects.values_list("pk", "state")) == before
    assert not GoalEvent.objects.exists()
    assert token_client(bob).get("/api/goals/").json() == {"results": [], "next": None}


def test_no_non_staff_response_carries_a_traceback_or_another_users_params(alice, bob, staff):
    marker = "MARKER-7f3a9c"
    planted = {"type": "tests.executors.Boom", "message": "planned", "traceback": f"Traceback {marker}"}
    for state in (GoalState.FAILED, GoalState.RUNNING, GoalState.EXPIRED):
        make_goal(state=state, owner=alice, kind="tests.typed", params={"name": marker}, error=planted)
    own_failed = make_goal(state=GoalState.FAILED, owner=bob, kind="tests.typed", params={"name": "b"}, error=planted)
    own_running = make_goal(state=GoalState.RUNNING, owner=bob, error=planted)
    others = list(Goal.objects.filter(owner=alice))
    responses = []
    for client in (token_client(bob), session_client(bob)):
        responses += [client.get(path) for path in (
            "/api/goals/", "/api/goals/?limit=1", "/api/goals/?state=failed", "/api/goals/?kind=tests.typed",
            "/api/goals/?owner=alice", "/api/goals/?state=nope", "/api/schema/",
            status_url(own_failed), status_url(own_running), *(status_url(goal) for goal in others))]
        responses += [act(client, goal.pk, action) for goal in others for action in ("cancel", "retry")]
        responses += [client.put(status_url(goal)) for goal in others]
        responses += [submit(client, {"kind": "tests.typed", "params": {"name": marker}, "colour": 1}),
                      submit(client, {"kind": "tests.typed", "params": {"name": "b"}, "idempotency_key": "k"}),
                      submit(client, {"kind": "tests.typed", "params": {"name": "c"}, "idempotency_key": "k"}),
                      act(client, own_failed.pk, "cancel")]
    responses.append(act(token_client(bob), own_running.pk, "cancel"))
    responses.append(act(token_client(bob), own_failed.pk, "retry"))
    statuses = {response.status_code for response in responses}
    assert statuses == {200, 202, 400, 404, 405, 409}, "every kind of answer was looked at"
    own = token_client(bob).get(status_url(own_running)).json()["error"]
    assert own == {"type": "tests.executors.Boom", "message": "planned"}, "own errors: type and message only"
    for response in responses:
        assert marker not in response.content.decode(), (response.request, response.content)
        assert marker not in str(response.headers)
    assert marker in token_client(staff).get(status_url(others[0])).content.decode(), "staff do see it"


# --- authentication ------------------------------------------------------------------------------------------


def test_session_posts_need_the_csrf_token(alice):
    client = session_client(alice, enforce_csrf_checks=True)
    refused = submit(client, {"kind": "tests.noop"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "csrf_failed"
    goal = make_goal(state=GoalState.RUNNING, owner=alice)
    assert act(client, goal.pk, "cancel").status_code == 403
    assert Goal.objects.get(pk=goal.pk).state == GoalState.RUNNING
    client.cookies["csrftoken"] = CSRF_SECRET
    accepted = submit(client, {"kind": "tests.noop"}, headers={"X-CSRFToken": CSRF_SECRET})
    assert accepted.status_code == 202
    assert client.get(status_url(goal)).status_code == 200, "safe methods need no token"


def test_token_posts_need_no_csrf_token(alice):
    _, key = api_token_create(user=alice, name="ci")
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Token {key}"})
    assert submit(client, {"kind": "tests.noop"}).status_code == 202


def test_bearer_is_accepted_like_token(alice):
    _, key = api_token_create(user=alice, name="ci")
    assert Client(headers={"Authorization": f"Bearer {key}"}).get("/api/goals/").status_code == 200


@pytest.mark.parametrize("authorization", [None, "Token gt_wrong", "Bearer ", "Token", "Basic YWxpY2U6cHc="])
def test_missing_or_bad_credentials_are_401(alice, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = Client(headers=headers).get("/api/goals/")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_bad_token_is_refused_even_with_a_session(alice):
    client = session_client(alice)
    assert client.get("/api/goals/").status_code == 200
    assert client.get("/api/goals/", headers={"Authorization": "Token gt_wrong"}).status_code == 401


def test_tokens_of_inactive_users_are_refused(alice):
    client = token_client(alice)
    alice.is_active = False
    alice.save()
    assert client.get("/api/goals/").status_code == 401


# --- methods -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("put", "/api/goals/", "GET, POST"),
    ("delete", "/api/goals/", "GET, POST"),
    ("post", "/api/goals/{id}/", "GET"),
    ("patch", "/api/goals/{id}/", "GET"),
    ("get", "/api/goals/{id}/cancel", "POST"),
    ("get", "/api/goals/{id}/retry", "POST"),
    ("head", "/api/goals/{id}/retry", "POST"),
    ("post", "/api/schema/", "GET"),
])
def test_other_methods_are_405_with_allow(as_alice, alice, method, path, allow):
    goal = make_goal(state=GoalState.FAILED, owner=alice)
    response = getattr(as_alice, method)(path.format(id=goal.pk))
    assert response.status_code == 405
    assert response["Allow"] == allow
    if method != "head":
        assert response.json()["error"] == "method_not_allowed"
    assert Goal.objects.get(pk=goal.pk).state == GoalState.FAILED


# --- listing -------------------------------------------------------------------------------------------------


def walk(client: Client, url: str) -> list[list[str]]:
    """The ids of every page from ``url`` on, following ``next``."""
    pages = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        pages.append([goal["id"] for goal in response.json()["results"]])
        url = response.json()["next"]
    return pages


def test_cursor_pagination_walks_every_goal_once_newest_first(as_alice, alice, bob):
    now = timezone.now()
    for i in range(30):
        make_goal(owner=alice, now=now - timedelta(seconds=i))
    for _ in range(5):  # the same created_at: the id decides their order
        make_goal(owner=alice, now=now - timedelta(seconds=7, microseconds=1))
    make_goal(owner=bob)
    expected = [str(pk) for pk in Goal.objects.filter(owner=alice).order_by("-created_at", "-pk")
                .values_list("pk", flat=True)]
    pages = walk(as_alice, "/api/goals/?limit=7")
    assert [len(page) for page in pages] == [7, 7, 7, 7, 7]
    assert [goal_id for page in pages for goal_id in page] == expected
    assert [goal_id for page in walk(as_alice, "/api/goals/?limit=50") for goal_id in page] == expected


def test_goals_submitted_while_paging_are_neither_repeated_nor_skipped(as_alice, alice):
    now = timezone.now()
    for i in range(6):
        make_goal(owner=alice, now=now - timedelta(minutes=i))
    first = as_alice.get("/api/goals/?limit=3").json()
    make_goal(owner=alice, now=now + timedelta(minutes=1))  # newer than everything: belongs before page 1
    rest = walk(as_alice, first["next"])
    seen = [goal["id"] for goal in first["results"]] + [goal_id for page in rest for goal_id in page]
    assert len(seen) == len(set(seen)) == 6


def test_filters_carry_over_to_the_next_page(as_alice, alice, bob, staff):
    for state in (GoalState.FAILED, GoalState.FAILED, GoalState.FAILED, GoalState.RUNNING):
        make_goal(state=state, owner=alice, kind="tests.typed")
    make_goal(state=GoalState.FAILED, owner=alice, kind="tests.noop")
    make_goal(state=GoalState.FAILED, owner=bob, kind="tests.typed")
    first = as_alice.get("/api/goals/?state=failed&kind=tests.typed&limit=2").json()
    assert set(first["next"].split("?")[1].split("&")) >= {"state=failed", "kind=tests.typed", "limit=2"}
    pages = walk(as_alice, "/api/goals/?state=failed&kind=tests.typed&limit=2")
    assert sum(len(page) for page in pages) == 3
    as_staff = token_client(staff)
    assert sum(len(page) for page in walk(as_staff, "/api/goals/")) == 6, "staff see everyone's goals"
    [bobs] = walk(as_staff, "/api/goals/?owner=bob")
    assert bobs == [str(Goal.objects.get(owner=bob).pk)]


@pytest.mark.parametrize(("query", "field"), [
    ("state=nope", "state"),
    ("limit=0", "limit"),
    ("limit=51", "limit"),
    ("limit=ten", "limit"),
    ("limit=%C2%B2", "limit"),
    ("cursor=garbage", "cursor"),
    ("owner=bob", "owner"),
    ("page=2", "page"),
    ("state=failed&state=running", "state"),
    ("id=not-a-uuid", "id"),
    ("&".join(["id=00000000-0000-0000-0000-000000000001"] * 51), "id"),
])
def test_bad_list_parameters_are_400_naming_them(as_alice, query, field):
    response = as_alice.get(f"/api/goals/?{query}")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]


def test_an_altered_cursor_is_400(as_alice, alice):
    for _ in range(3):
        make_goal(owner=alice)
    next_url = as_alice.get("/api/goals/?limit=1").json()["next"]
    cursor = next_url.split("cursor=")[1]
    altered = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]
    response = as_alice.get(f"/api/goals/?limit=1&cursor={altered}")
    assert (response.status_code, list(response.json()["fields"])) == (400, ["cursor"])


@pytest.mark.parametrize("staff_caller", [False, True])
def test_listing_costs_the_same_queries_for_1_and_30_goals(django_user_model, alice, staff, staff_caller,
                                                           django_assert_num_queries):
    client = token_client(staff if staff_caller else alice)
    url = "/api/goals/?owner=alice&state=queued" if staff_caller else "/api/goals/?state=queued"
    make_goal(owner=alice)
    with django_assert_num_queries(2):  # the token, then one page of goals: no COUNT, nothing per row
        assert len(client.get(url).json()["results"]) == 1
    for _ in range(29):
        make_goal(owner=alice)
    with django_assert_num_queries(2):
        assert len(client.get(url).json()["results"]) == 30


def test_listing_by_ids_gives_only_those_the_caller_may_see_newest_first_and_304_while_unchanged(
        as_alice, alice, bob, django_assert_num_queries):
    now = timezone.now()
    older, newer = make_goal(owner=alice, now=now - timedelta(minutes=1)), make_goal(owner=alice, now=now)
    bobs = make_goal(owner=bob)
    make_goal(owner=alice)  # not asked for
    url = f"/api/goals/?id={older.pk}&id={bobs.pk}&id={newer.pk}&id={older.pk}"
    first = as_alice.get(url)
    assert [goal["id"] for goal in first.json()["results"]] == [str(newer.pk), str(older.pk)]
    with django_assert_num_queries(2):  # the token, then one query for every goal asked for
        unchanged = as_alice.get(url, headers={"If-None-Match": first["ETag"]})
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    Goal.objects.filter(pk=older.pk).update(progress_message="halfway")
    changed = as_alice.get(url, headers={"If-None-Match": first["ETag"]})
    assert changed.status_code == 200
    assert changed.json()["results"][1]["progress"]["message"] == "halfway"


# --- create_api_token ----------------------------------------------------------------------------------------


def test_create_api_token_prints_the_key_once_and_stores_its_digest(alice):
    out, err = StringIO(), StringIO()
    call_command("create_api_token", "alice", name="ci", stdout=out, stderr=err)
    key = out.getvalue().strip()
    assert re.fullmatch(r"gt_[A-Za-z0-9_-]{43}", key)
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.prefix) == (alice, "ci", key[:10])
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert key not in err.getvalue()
    assert Client(headers={"Authorization": f"Token {key}"}).get("/api/goals/").status_code == 200


@pytest.mark.parametrize(("args", "message"), [
    (["nobody", "--name", "ci"], "no user named 'nobody'"),
    (["alice", "--name", " "], "--name must be"),
])
def test_create_api_token_refuses_bad_input(alice, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_api_token", *args)
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("result", [{"rows": [1, 2]}, "a string", 7, None, [None, True]])
def test_the_status_read_builds_the_same_goal_as_the_orm(alice, result):
    from goals.selectors import STATUS_FIELDS, goal_for_status

    goal = make_goal(state=GoalState.FAILED, owner=alice, kind="tests.typed", params={"name": "n", "size": 2},
                     result=result, error={"type": "E", "message": "m", "traceback": "t"})
    read = goal_for_status(goal_id=goal.pk, owner_id=alice.pk)
    expected = Goal.objects.get(pk=goal.pk)
    assert {name: getattr(read, name) for name in STATUS_FIELDS} == {
        name: getattr(expected, name) for name in STATUS_FIELDS}
    assert goal_for_status(goal_id=goal.pk, owner_id=alice.pk + 1) is None
    assert goal_for_status(goal_id=goal.pk, owner_id=None).pk == goal.pk


def test_a_project_without_goals_urls_refuses_a_submit_before_anything_is_written(as_alice, settings):
    """Mounting only the API module leaves the goal's page unroutable: the submit answers a JSON error and
    commits nothing, so a client that retries does not create the goal twice."""
    settings.ROOT_URLCONF = "tests.urls_api_only"
    clear_url_caches()
    try:
        response = submit(as_alice, {"kind": "tests.noop", "params": {}})
    finally:
        settings.ROOT_URLCONF = "config.urls"
        clear_url_caches()
    assert response.status_code == 500
    assert response.json()["error"] == "not_configured"
    assert "goals.urls" in response.json()["detail"]
    assert not Goal.objects.exists()
