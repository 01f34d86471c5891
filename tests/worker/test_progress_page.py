"""The live progress page, in a real browser (Debian's Chromium driven by Playwright) against a live
server, while the real worker reports progress: the bar moves, the final state shows, polling stops."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User

from goals.api import submit
from goals.lifecycle.states import GoalState
from goals.models import Goal
from tests.browser import signed_in_page
from tests.conftest import wait_final
from tests.factories import make_goal


@pytest.mark.worker
def test_the_bar_moves_with_the_worker_and_stops_when_final(worker, live_server):
    alice = User.objects.create_user("alice")
    goal = submit("tests.count", {"to": 30, "delay": 0.2}, owner=alice)
    page_url = f"{live_server.url}/goals/{goal.pk}/"
    status_path = f"/api/goals/{goal.pk}/"

    seen: list[int] = []
    status_requests: list[float] = []
    with signed_in_page(alice, live_server.url) as page:
        page.on("request", lambda request: status_requests.append(time.monotonic())
                if request.url.endswith(status_path) else None)
        page.goto(page_url)
        deadline = time.monotonic() + 60
        while page.get_attribute("body", "data-final") is None and time.monotonic() < deadline:
            seen.append(int(page.get_attribute("#bar", "aria-valuenow")))
            page.wait_for_timeout(100)
        final_state = page.get_attribute("body", "data-final")
        state_text = page.text_content("#state")
        result_text = page.text_content("#result-body")
        percent_text = page.text_content("#percent")
        polls_at_final = len(status_requests)
        page.wait_for_timeout(2500)
        polls_after = len(status_requests) - polls_at_final

    assert final_state == GoalState.SUCCEEDED, f"no final state within 60 s; bar values seen: {seen}"
    assert state_text == "succeeded"
    assert '"counted": 30' in result_text
    assert percent_text == "100%"
    moving = sorted({value for value in seen if 0 < value < 100})
    assert len(moving) >= 2, f"the bar should move through intermediate values, saw {seen}"
    assert seen == sorted(seen), "the bar never goes backwards"
    assert polls_after == 0, "polling stops once the goal is final"
    assert wait_final(goal.pk).state == GoalState.SUCCEEDED


@pytest.mark.django_db
def test_the_page_is_for_the_owner_and_staff_only(client):
    owner = User.objects.create_user("owner")
    goal = make_goal(state=GoalState.RUNNING, owner=owner, progress_current=2, progress_total=8,
                     progress_message="two of eight")
    url = f"/goals/{goal.pk}/"

    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"/accounts/login/?next={url}"

    client.force_login(User.objects.create_user("someone-else"))
    not_found = [client.get(path).status_code for path in (url, "/goals/not-a-uuid/", f"/goals/{Goal().pk}/")]
    assert not_found == [404, 404, 404]

    client.force_login(owner)
    page = client.get(url).content.decode()
    assert "two of eight" in page
    assert 'aria-valuenow="25"' in page, "rendered on the server, readable without JavaScript"
    client.force_login(User.objects.create_user("staff", is_staff=True))
    assert client.get(url).status_code == 200
