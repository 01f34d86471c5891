"""One lifecycle, three reasons to hold no worker: a start time, an outside event, children. Each goal says
which, and until when, the same way in the ORM, the status API, the admin and the live pages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client

from goals.models import Goal
from goals.querysets import WaitsFor
from goals.tokens import api_token_create
from tests.factories import make_goal

pytestmark = pytest.mark.django_db

UNTIL = datetime(2026, 12, 6, 13, 0, tzinfo=UTC)


@pytest.fixture
def goals():
    alice = User.objects.create_user("alice", is_staff=True, is_superuser=True)
    return alice, {
        "start": make_goal(state="scheduled", run_after=UNTIL, owner=alice),
        "event": make_goal(state="waiting", wait_event="payment.captured", wait_key="order:42", run_after=UNTIL,
                           owner=alice),
        "children": make_goal(state="waiting", children_total=10, children_final=7, owner=alice),
        "slot": make_goal(state="held", held_for="slot", kind="tests.limited", limit_key="acme", owner=alice),
        "pause": make_goal(state="held", held_for="pause", kind="tests.noop", owner=alice),
        "rate": make_goal(state="held", held_for="rate", kind="tests.rated", rate_key="acme", run_after=UNTIL,
                          owner=alice),
        "running": make_goal(state="running", owner=alice),
    }


def test_each_goal_says_what_it_waits_for_and_the_orm_filters_by_it(goals, settings):
    settings.TIME_ZONE = "Europe/Paris"
    _alice, made = goals
    assert made["start"].waits_for.summary == "starts at 2026-12-06 14:00:00"
    assert made["event"].waits_for.summary == "waits for payment.captured (order:42) until 2026-12-06 14:00:00"
    assert made["children"].waits_for.summary == "waits for 3 of its children"
    assert made["slot"].waits_for.summary == "waits for a slot of tests.limited (acme)"
    assert made["pause"].waits_for.summary == "waits for tests.noop to be resumed"
    assert made["rate"].waits_for.summary == ("waits for its turn under the rate of tests.rated (acme) until "
                                              "2026-12-06 14:00:00")
    assert made["running"].waits_for is None
    for what in WaitsFor:
        assert list(Goal.objects.waiting_for(what)) == [made[what.value]]


def test_the_status_api_and_the_live_page_show_it(goals):
    alice, made = goals
    _, key = api_token_create(user=alice, name="t")
    client = Client(headers={"Authorization": f"Token {key}"})
    shown = client.get(f"/api/goals/{made['event'].pk}/").json()["waits_for"]
    assert shown["what"] == "event"
    assert (shown["event"], shown["key"]) == ("payment.captured", "order:42")
    assert shown["until"].startswith("2026-12-06T13:00:00")
    assert client.get(f"/api/goals/{made['children'].pk}/").json()["waits_for"]["children_left"] == 3
    assert client.get(f"/api/goals/{made['running'].pk}/").json()["waits_for"] is None
    browser = Client()
    browser.force_login(alice)
    page = browser.get(f"/goals/{made['start'].pk}/").content.decode()
    assert made["start"].waits_for.summary in page


def test_the_admin_lists_filters_and_shows_it(goals):
    alice, made = goals
    admin = Client()
    admin.force_login(alice)
    listing = admin.get("/admin/goals/goal/?waits_for=event").content.decode()
    assert f"/admin/goals/goal/{made['event'].pk}/change/" in listing
    assert f"/admin/goals/goal/{made['start'].pk}/change/" not in listing
    assert made["event"].waits_for.summary in listing, "on hover over its state"
    detail = admin.get(f"/admin/goals/goal/{made['event'].pk}/change/").content.decode()
    assert "waits for payment.captured (order:42)" in detail
