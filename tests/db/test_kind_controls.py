"""Pausing, resuming and limiting a kind from every place an operator reaches: the HTTP API (staff only) and
the management command; each change journaled with who and why."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from goals.api import submit
from goals.models import KindControl, KindEvent
from tests.db.test_http_api import JSON, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(django_user_model):
    return token_client(django_user_model.objects.create_user("oncall", is_staff=True))


def test_the_http_api_pauses_resumes_and_limits_a_kind_in_the_callers_name(staff, monkeypatch):
    monkeypatch.setattr("goals.submitting.moves.send_many", lambda dispatches: None)
    paused = staff.post("/api/kinds/tests.limited/pause", {"reason": "partner outage"}, content_type=JSON).json()
    assert (paused["paused"], paused["paused_by"], paused["pause_reason"], paused["changed"]) == (
        True, "oncall", "partner outage", True)
    again = staff.post("/api/kinds/tests.limited/pause", {"reason": "again"}, content_type=JSON).json()
    assert (again["changed"], again["pause_reason"]) == (False, "partner outage")
    refused = staff.post("/api/kinds/tests.noop/pause", {}, content_type=JSON)
    assert refused.json()["fields"] == {"reason": ["say why the kind is paused: the journal and the overview show it"]}
    limited = staff.post("/api/kinds/tests.limited/concurrency", {"concurrency": 5}, content_type=JSON).json()
    assert (limited["concurrency"], limited["declared_concurrency"], limited["set_concurrency"]) == (5, 2, 5)
    assert staff.post("/api/kinds/tests.limited/concurrency", {"concurrency": "5"},
                      content_type=JSON).status_code == 400
    resumed = staff.post("/api/kinds/tests.limited/resume", {}, content_type=JSON).json()
    assert (resumed["paused"], resumed["resumed"]) == (False, 0)
    listed = {kind["kind"]: kind for kind in staff.get("/api/kinds/").json()["kinds"]}
    assert listed["tests.limited"]["concurrency"] == 5
    assert listed["tests.noop"]["concurrency"] is None
    assert list(KindEvent.objects.filter(kind="tests.limited").order_by("id").values_list("event", "actor")) == [
        ("paused", "oncall"), ("concurrency", "oncall"), ("resumed", "oncall")]


def test_the_command_lists_pauses_resumes_and_limits_a_kind(monkeypatch):
    monkeypatch.setattr("goals.submitting.moves.send_many", lambda dispatches: None)
    submit("tests.limited", {"tenant": "acme"})
    out = StringIO()
    call_command("goals_kinds", "pause", "tests.limited", "--reason", "deploy", "--actor", "ops", stdout=out)
    call_command("goals_kinds", "concurrency", "tests.limited", "4", stdout=out)
    call_command("goals_kinds", stdout=out)
    line = next(line for line in out.getvalue().splitlines() if line.startswith("tests.limited ")
                and "yes" in line)
    assert line.split()[:5] == ["tests.limited", "4", "-", "0", "0"]
    assert line.endswith("yes, by ops: deploy")
    call_command("goals_kinds", "resume", "tests.limited", stdout=out)
    call_command("goals_kinds", "concurrency", "tests.limited", "default", stdout=out)
    call_command("goals_kinds", "rate", "tests.limited", "30/m", stdout=out)
    assert "tests.limited rate: 30/60s" in out.getvalue()
    assert KindControl.objects.get(pk="tests.limited").concurrency is None
    for bad, message in ((["pause", "tests.limited"], "reason: say why"), (["pause", "no.such", "--reason", "x"],
                         "unknown kind 'no.such'"), (["concurrency", "tests.limited", "0"], "positive integer"),
                         (["concurrency", "tests.limited", "many"], "positive integer"),
                         (["rate", "tests.limited", "3/fortnight"], "rate unit 'fortnight' is unknown")):
        with pytest.raises(CommandError, match=message):
            call_command("goals_kinds", *bad)


def test_the_admin_kinds_page_shows_each_kind_and_changes_it_in_the_persons_name(admin_client, admin_user):
    page = admin_client.get("/admin/goals/goal/kinds/")
    assert page.status_code == 200
    assert b'id="kind-tests.limited"' in page.content
    response = admin_client.post("/admin/goals/goal/kinds/", {"kind": "tests.limited", "change": "pause",
                                                              "reason": "partner outage"}, follow=True)
    assert b"Paused tests.limited" in response.content
    assert b"partner outage" in response.content
    control = KindControl.objects.get(pk="tests.limited")
    assert (control.paused, control.paused_by) == (True, admin_user.username)
    refused = admin_client.post("/admin/goals/goal/kinds/", {"kind": "tests.noop", "change": "pause"}, follow=True)
    assert b"say why the kind is paused" in refused.content
    assert not KindControl.objects.filter(pk="tests.noop").exists()
    admin_client.post("/admin/goals/goal/kinds/", {"kind": "tests.limited", "change": "limit", "concurrency": "7"})
    assert KindControl.objects.get(pk="tests.limited").concurrency == 7
    admin_client.post("/admin/goals/goal/kinds/", {"kind": "tests.limited", "change": "resume"})
    assert not KindControl.objects.get(pk="tests.limited").paused


def test_viewing_kinds_needs_view_permission_and_changing_them_the_review_permission(client, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_goal"))
    client.force_login(viewer)
    page = client.get("/admin/goals/goal/kinds/")
    assert page.status_code == 200
    assert b'value="Pause"' not in page.content
    assert client.post("/admin/goals/goal/kinds/", {"kind": "tests.limited", "change": "pause",
                                                    "reason": "x"}).status_code == 403
    assert not KindControl.objects.filter(pk="tests.limited").exists()


def test_the_overview_shows_paused_kinds_and_held_goals(admin_client):
    from goals.api import pause_kind
    from tests.factories import make_goal

    make_goal(state="held", held_for="slot", kind="tests.limited", limit_key="acme")
    pause_kind("tests.noop", reason="incident 42", actor="oncall")
    page = admin_client.get("/admin/goals/goal/overview/").content.decode()
    table = page[page.index('id="kind-limits"'):page.index("</table>", page.index('id="kind-limits"'))]
    assert "tests.noop" in table
    assert "incident 42" in table
    assert "1 (1 for a slot, 0 for the pause)" in table
