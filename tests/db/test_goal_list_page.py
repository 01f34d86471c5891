"""The ``/goals/`` page as the server renders it: whose goals, in what order, filters, pages and cost.
(How it updates in a browser is in ``tests/worker/test_goal_list_live.py`` and the test at the end.)"""

from __future__ import annotations

import itertools
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from goals.lifecycle.states import GoalState
from goals.submitting.people import goal_cancel
from tests.browser import in_another_thread, signed_in_page
from tests.factories import make_goal

URL = "/goals/"


def rows(page: str) -> list[str]:
    return [line.split('data-goal="')[1].split('"')[0] for line in page.splitlines() if 'data-goal="' in line]


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_a_user_sees_their_own_goals_newest_first_each_linking_to_its_page(client):
    alice, bob = User.objects.create_user("alice"), User.objects.create_user("bob")
    now = timezone.now()
    older, newer = make_goal(owner=alice, now=now - timedelta(minutes=1)), make_goal(owner=alice, now=now)
    make_goal(owner=bob)
    anonymous = client.get(URL)
    assert (anonymous.status_code, anonymous["Location"]) == (302, f"/accounts/login/?next={URL}")

    page = signed_in(alice).get(URL).content.decode()
    assert rows(page) == [str(newer.pk), str(older.pk)]
    assert f'<a href="/goals/{newer.pk}/" title="{newer.pk}"><code>{str(newer.pk)[-8:]}</code></a>' in page
    assert "<th>Owner</th>" not in page, "the owner column is staff's"
    assert 'name="owner"' not in page, "so is the owner filter"


@pytest.mark.django_db
def test_staff_see_everyones_goals_and_filter_them_by_owner_state_and_kind():
    alice, bob = User.objects.create_user("alice"), User.objects.create_user("bob")
    alices = make_goal(owner=alice, state=GoalState.RUNNING, kind="tests.count")
    bobs = make_goal(owner=bob, state=GoalState.FAILED)
    staff = signed_in(User.objects.create_user("staff", is_staff=True))
    page = staff.get(URL).content.decode()
    assert set(rows(page)) == {str(alices.pk), str(bobs.pk)}
    assert "<th>Owner</th>" in page
    assert rows(staff.get(f"{URL}?owner=bob").content.decode()) == [str(bobs.pk)]
    assert rows(staff.get(f"{URL}?state=running").content.decode()) == [str(alices.pk)]
    filtered = staff.get(f"{URL}?kind=tests.count&state=").content.decode()
    assert rows(filtered) == [str(alices.pk)]
    assert '<option value="tests.count" selected>' in filtered


@pytest.mark.django_db
@pytest.mark.parametrize(("query", "problem"), [
    ("state=nope", "unknown state"), ("owner=bob", "only staff"), ("cursor=garbage", "not a link"),
    ("colour=red", "unknown parameter"),
])
def test_a_bad_query_is_400_saying_what_is_wrong_and_lists_nothing(query, problem):
    alice = User.objects.create_user("alice")
    make_goal(owner=alice)
    response = signed_in(alice).get(f"{URL}?{query}")
    page = response.content.decode()
    assert response.status_code == 400
    assert 'role="alert"' in page
    assert problem in page
    assert rows(page) == []


@pytest.mark.django_db
def test_older_goals_are_a_page_away_and_each_page_costs_three_queries(django_assert_num_queries):
    alice = User.objects.create_user("alice")
    now = timezone.now()
    goals = [make_goal(owner=alice, now=now - timedelta(seconds=i)) for i in range(55)]
    client = signed_in(alice)
    with django_assert_num_queries(3):  # the session, the user, one page of goals: nothing per row, no COUNT
        first = client.get(URL).content.decode()
    assert rows(first) == [str(goal.pk) for goal in goals[:50]]
    older = first.split('<a href="')[-1].split('" rel="next"')[0].replace("&amp;", "&")
    with django_assert_num_queries(3):
        second = client.get(older).content.decode()
    assert rows(second) == [str(goal.pk) for goal in goals[50:]]
    assert "Newest goals" in second
    assert 'rel="next"' not in second


@pytest.mark.django_db(transaction=True)
def test_polls_slow_down_while_nothing_changes_answer_304_and_stop_once_every_row_is_final(live_server):
    """In Chromium, without a worker: a running goal that does not move, then is cancelled."""
    alice = User.objects.create_user("alice")
    goal = make_goal(owner=alice, state=GoalState.RUNNING, progress_current=1, progress_total=4)
    make_goal(owner=alice, state=GoalState.SUCCEEDED)  # final from the start: never asked for
    polls: list[tuple[float, int, str]] = []
    with signed_in_page(alice, live_server.url) as page:
        # What went over the wire: Playwright, and the browser's own response events, report a 304 as the
        # cached 200 it revalidated; the raw response's status is in the "extra info" of each response.
        network, urls = page.context.new_cdp_session(page), {}
        network.send("Network.enable")
        network.on("Network.requestWillBeSent",
                   lambda event: urls.update({event["requestId"]: event["request"]["url"]}))
        network.on("Network.responseReceivedExtraInfo", lambda event: polls.append(
            (time.monotonic(), event["statusCode"], urls.get(event["requestId"], "")))
            if "/api/goals/" in urls.get(event["requestId"], "") else None)
        page.goto(f"{live_server.url}{URL}")
        deadline = time.monotonic() + 30
        while len(polls) < 5 and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        in_another_thread(goal_cancel, goal_id=goal.pk, actor="test", reason="stop")
        page.wait_for_selector('body[data-final="all"]', timeout=30_000)
        state = page.text_content(f'tr[data-goal="{goal.pk}"] [data-field="state"]')
        polls_at_final = len(polls)
        page.wait_for_timeout(3000)

    assert len(polls) >= 5, polls
    assert {url.split("?")[1] for _, _, url in polls} == {f"id={goal.pk}"}, "one request, for the active rows"
    assert [status for _, status, _ in polls[:5]] == [200, 304, 304, 304, 304]
    gaps = [later - earlier for (earlier, _, _), (later, _, _) in itertools.pairwise(polls[:5])]
    assert gaps[-1] > 2 * gaps[0], f"polling slows down while nothing changes: gaps {gaps}"
    assert state == "cancelled"
    assert len(polls) == polls_at_final, "no poll once every row is final"
