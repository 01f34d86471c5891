"""The overview's charts, drawn on the server: the last 24 hours of goals started, succeeded and failed per 5
minutes, and running against held per kind; read as text here, and at 1280 px in Chromium."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from goals.admin.charts import BUCKET, WINDOW, activity_series
from goals.lifecycle.states import GoalState
from goals.models import EventType, GoalEvent
from tests.browser import signed_in_page
from tests.factories import make_goal

pytestmark = pytest.mark.django_db


def journal_start(goal, at):
    GoalEvent.objects.create(goal=goal, created_at=at, event=EventType.TRANSITION, transition="start",
                             from_state="queued", to_state="running", attempt=1, cause="executor")


def test_the_series_put_each_count_in_its_bucket_and_leave_out_the_rest():
    end = timezone.now().replace(second=0, microsecond=0)
    rows = [("started", end - BUCKET, 3), ("started", end - WINDOW, 2), ("failed", end - 2 * BUCKET, 1),
            ("started", end - WINDOW - BUCKET, 9), ("cancelled", end - BUCKET, 4)]
    started, succeeded, failed = activity_series(rows, end=end)
    assert (started.counts[-1], started.counts[0], sum(started.counts)) == (3, 2, 5)
    assert (sum(succeeded.counts), failed.counts[-2]) == (0, 1)
    assert len(started.counts) == 288


def test_the_overview_draws_the_last_day_and_running_against_held(admin_client):
    now = timezone.now()
    for minutes in (1, 2, 70):
        journal_start(make_goal(state=GoalState.RUNNING, kind="tests.limited"), now - timedelta(minutes=minutes))
    make_goal(state=GoalState.HELD, held_for="slot", kind="tests.limited", limit_key="acme")
    make_goal(state=GoalState.FAILED, kind="tests.noop", now=now - timedelta(minutes=3))
    make_goal(state=GoalState.SUCCEEDED, kind="tests.noop", now=now - timedelta(hours=30))  # outside the day
    page = admin_client.get("/admin/goals/goal/overview/").content.decode()
    assert 'id="activity-chart"' in page
    titles = re.findall(r"<title>([^<]+)</title>", page)
    assert "started: 3 in 24 h" in titles
    assert "succeeded: 0 in 24 h" in titles
    assert "failed: 1 in 24 h" in titles
    assert "tests.limited: 3 running" in titles
    assert "tests.limited: 1 held" in titles


@pytest.mark.django_db(transaction=True)
def test_the_charts_fit_the_page_at_1280_px(live_server):
    now = timezone.now()
    for minutes in range(0, 24 * 60, 17):
        journal_start(make_goal(state=GoalState.SUCCEEDED, now=now - timedelta(minutes=minutes)),
                      now - timedelta(minutes=minutes))
    for n in range(12):
        make_goal(state=GoalState.RUNNING, kind=f"billing.invoices.send_overdue_reminders_{n}")
        make_goal(state=GoalState.HELD, held_for="slot", kind=f"billing.invoices.send_overdue_reminders_{n}")
    staff = User.objects.create_superuser("operator")
    with signed_in_page(staff, live_server.url, width=1280) as page:
        page.goto(f"{live_server.url}/admin/goals/goal/overview/")
        boxes = page.evaluate("""() => [...document.querySelectorAll('svg.goal-chart')].map((svg) => {
            const box = svg.getBoundingClientRect();
            const content = document.querySelector('#content').getBoundingClientRect();
            return {id: svg.id, width: box.width, height: box.height, right: box.right, contentRight: content.right,
                    labels: [...svg.querySelectorAll('text')].filter((t) => {
                        const r = t.getBoundingClientRect(); return r.right > box.right + 1 || r.left < box.left - 1;
                    }).map((t) => t.textContent)};
        })""")
        scroll = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert [box["id"] for box in boxes] == ["activity-chart", "running-held-chart"]
    for box in boxes:
        assert box["width"] > 800, box
        assert box["height"] > 100, box
        assert box["right"] <= box["contentRight"] + 1, box
        assert box["labels"] == [], box
    assert scroll <= 0, "the page scrolls sideways"
