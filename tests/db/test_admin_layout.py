"""The admin's goal pages at 1280 px, in Chromium: every column of the list, and every inline table of a
goal's page, fits its box with long owner names, dotted kinds and error types, and a second sort column."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from goals.lifecycle.states import GoalState
from goals.models import Attempt
from tests.browser import signed_in_page
from tests.factories import make_goal

pytestmark = pytest.mark.django_db(transaction=True)

LONG_KIND = "billing.invoices.send_overdue_invoice_reminders"
LONG_ERROR = {"type": "billing.integrations.upstream.exceptions.UpstreamUnavailable",
              "message": "upstream refused account acme-corporation-international (attempt 3)",
              "traceback": "Traceback (most recent call last):\n  ...\n"}
COLUMNS = ["id", "state", "progress", "kind", "owner", "age", "heartbeat", "deadline", "review"]

# Each table's overflow, and how far each header's right edge lies past its scrolling box.
OVERFLOW = """(selector) => [...document.querySelectorAll(selector)].map((table) => {
  const box = table.parentElement.getBoundingClientRect();
  return {table: table.id || table.closest('[id]').id, overflow: Math.round(table.scrollWidth - box.width),
          cut: [...table.querySelectorAll('thead th')].filter((th) => th.offsetWidth > 0)
                 .filter((th) => th.getBoundingClientRect().right > box.right + 1)
                 .map((th) => th.textContent.trim())};
})"""


def goals_with_long_names():
    owner = User.objects.create_user("alexandra.longname-of-the-finance-team@example.com")
    now = timezone.now()
    goals = [
        make_goal(state=GoalState.RUNNING, kind=LONG_KIND, owner=owner, progress_current=3, progress_total=7,
                  deadline=now + timedelta(hours=2)),
        make_goal(state=GoalState.FAILED, kind=LONG_KIND, owner=owner, attempt=3, error=LONG_ERROR,
                  deadline=now - timedelta(minutes=5), needs_review=True),
        make_goal(state=GoalState.QUEUED, owner=owner, deadline=now - timedelta(days=3)),
    ]
    Attempt.objects.filter(goal=goals[1]).update(
        error=LONG_ERROR, outcome="failed", worker="celery@worker-7.billing.internal.example.com",
        queued_at=now, started_at=now, finished_at=now)
    return goals


def test_every_list_column_and_inline_fits_at_1280_px(live_server):
    failed = goals_with_long_names()[1]
    staff = User.objects.create_superuser("reviewer")
    with signed_in_page(staff, live_server.url, width=1280) as page:
        page.goto(f"{live_server.url}/admin/goals/goal/")
        headers = [text.strip().lower() for text in page.locator("#result_list thead th").all_inner_texts()]
        listing = page.evaluate(OVERFLOW, "#result_list")
        page.goto(f"{live_server.url}/admin/goals/goal/?o=2.-6")  # sorted by state, then age: two sort marks
        sorted_listing = page.evaluate(OVERFLOW, "#result_list")
        page.goto(f"{live_server.url}/admin/goals/goal/{failed.pk}/change/")
        inlines = page.evaluate(OVERFLOW, ".inline-group table")

    assert [header for header in headers if header] == COLUMNS
    assert listing == [{"table": "result_list", "overflow": 0, "cut": []}], listing
    assert sorted_listing == [{"table": "result_list", "overflow": 0, "cut": []}], sorted_listing
    assert len(inlines) == 2, "the attempts and the journal"
    assert all(inline["overflow"] <= 0 and not inline["cut"] for inline in inlines), inlines
