"""The ``/goals/`` page in Chromium while the real worker runs the goals on it: every row moves in place,
all of them through one request per poll, and polling stops once every row is final."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User

from goals.api import submit
from goals.lifecycle.states import GoalState
from tests.browser import signed_in_page
from tests.conftest import wait_final
from tests.factories import make_goal


@pytest.mark.worker
def test_each_row_updates_in_place_from_one_request_per_poll_until_all_are_final(worker, live_server):
    alice, bob = User.objects.create_user("alice"), User.objects.create_user("bob")
    done = make_goal(owner=alice, state=GoalState.SUCCEEDED)
    running = [submit("tests.count", {"to": to, "delay": delay}, owner=alice)
               for to, delay in ((20, 0.15), (10, 0.3), (5, 0.2))]
    make_goal(owner=bob, state=GoalState.RUNNING)
    watched = {str(goal.pk) for goal in running}

    requests: list[str] = []
    percents: dict[str, list[str]] = {goal_id: [] for goal_id in watched}
    with signed_in_page(alice, live_server.url) as page:
        page.on("request", lambda request: requests.append(request.url) if "/api/" in request.url else None)
        page.goto(f"{live_server.url}/goals/")
        listed = page.eval_on_selector_all("tr[data-goal]", "rows => rows.map(row => row.dataset.goal)")
        links = page.eval_on_selector_all("tr[data-goal] a", "links => links.map(link => link.pathname)")
        deadline = time.monotonic() + 90
        while page.get_attribute("body", "data-final") is None and time.monotonic() < deadline:
            for goal_id in watched:
                percents[goal_id].append(page.text_content(f'tr[data-goal="{goal_id}"] [data-field="percent"]'))
            page.wait_for_timeout(100)
        final = page.get_attribute("body", "data-final")
        states = {goal_id: page.text_content(f'tr[data-goal="{goal_id}"] [data-field="state"]') for goal_id in watched}
        final_percents = {goal_id: page.text_content(f'tr[data-goal="{goal_id}"] [data-field="percent"]')
                          for goal_id in watched}
        requests_at_final = len(requests)
        page.wait_for_timeout(3000)

    assert final == "all", f"not every row was final within 90 s: {states}"
    assert set(listed) == watched | {str(done.pk)}, "alice's goals only"
    assert links == [f"/goals/{goal_id}/" for goal_id in listed], "each row links to its goal's page"
    assert states == dict.fromkeys(watched, "succeeded")
    assert final_percents == dict.fromkeys(watched, "100%")
    assert any(len({p for p in seen if p not in ("", "0%", "100%")}) >= 2 for seen in percents.values()), \
        f"rows move through intermediate values: {percents}"
    asked = [parse_qs(urlsplit(url).query) for url in requests]
    assert all(urlsplit(url).path == "/api/goals/" for url in requests), "never a request per goal"
    assert all(set(query) == {"id"} and set(query["id"]) <= watched for query in asked), "only the active rows"
    assert set(asked[0]["id"]) == watched, "one request carries every row that is not final"
    assert len(requests) == requests_at_final, "no poll once every row is final"
    assert all(wait_final(goal.pk).state == GoalState.SUCCEEDED for goal in running)
