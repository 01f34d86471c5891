"""The admin shows goals being watched: state, progress, attempts and journal, with nothing editable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from goals.api import submit
from goals.lifecycle.states import GoalState
from goals.models import Goal
from goals.reconciler.passes import run_pass
from tests.factories import make_goal

pytestmark = pytest.mark.django_db


def test_list_shows_state_and_progress(admin_client):
    make_goal(state=GoalState.RUNNING, progress_current=3, progress_total=4, progress_message="three")
    response = admin_client.get("/admin/goals/goal/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "75%" in body
    assert "running" in body


def test_list_shows_a_short_id_and_compact_times_with_the_exact_values_on_hover(admin_client):
    now = timezone.now()
    goal = make_goal(state=GoalState.RUNNING, deadline=now - timedelta(minutes=3), attempt=2)
    Goal.objects.filter(pk=goal.pk).update(heartbeat_at=now - timedelta(seconds=42))
    body = admin_client.get("/admin/goals/goal/").content.decode()
    short, full = str(goal.pk)[-8:], str(goal.pk)
    assert f'<a href="/admin/goals/goal/{full}/change/"><code title="{full}">{short}</code></a>' in body
    assert f">{full}<" not in body, "the full id is in the link and the title, not the text"
    assert "attempt 2/3</small>" in body, "the attempt under the state badge"
    assert ">5m</time>" in body, "age"
    assert ">42s ago</time>" in body, "since the heartbeat"
    assert "font-weight:bold\">3m ago</time>" in body, "a deadline passed by a goal that is not final, in red"
    assert ">tests.</span><wbr><span" in body, "a dotted kind may wrap after its dots"


def test_change_page_shows_attempts_and_journal_read_only(admin_client):
    goal = submit("tests.noop", {})
    response = admin_client.get(f"/admin/goals/goal/{goal.pk}/change/")
    assert response.status_code == 200
    body = " ".join(response.content.decode().split())
    assert '<td class="field-number"> <p>1</p> </td>' in body, "the attempt row"
    assert '<td class="field-transition"> <p>submit</p> </td>' in body, "the journal row"
    assert 'name="state"' not in body, "state is never edited through a form"
    assert admin_client.post(f"/admin/goals/goal/{goal.pk}/change/", {"state": "succeeded"}).status_code == 403
    goal.refresh_from_db()
    assert goal.state == GoalState.PENDING


def test_reports_are_browsable_and_export_as_csv_and_json(admin_client):
    goal = make_goal(state=GoalState.QUEUED, deadline=timezone.now() - timedelta(minutes=1))
    report, _ = run_pass(trigger="test")

    listing = admin_client.get("/admin/goals/reconciliationreport/")
    assert listing.status_code == 200
    detail = " ".join(admin_client.get(f"/admin/goals/reconciliationreport/{report.pk}/change/")
                      .content.decode().split())
    assert '<td class="field-kind"> <p>overdue</p> </td>' in detail

    url = "/admin/goals/reconciliationreport/"
    csv_response = admin_client.post(url, {"action": "export_csv", "_selected_action": [report.pk]})
    assert csv_response["Content-Type"] == "text/csv"
    rows = csv_response.content.decode().splitlines()
    assert rows[1].startswith(f"{report.pk},{goal.pk},")
    json_response = admin_client.post(url, {"action": "export_json", "_selected_action": [report.pk]})
    [exported] = json_response.json()
    assert exported["findings"][0]["goal_id"] == str(goal.pk)
    assert exported["actions_by_kind"] == {"expired": 1}


def test_goals_needing_review_can_be_filtered(admin_client):
    flagged = make_goal(state=GoalState.FAILED)
    Goal.objects.filter(pk=flagged.pk).update(needs_review=True, review_reason="stalled: no attempt left")
    make_goal(state=GoalState.FAILED)
    body = admin_client.get("/admin/goals/goal/?needs_review__exact=1").content.decode()
    assert str(flagged.pk) in body
    assert body.count('<td class="field-kind_display">') == 1, "only the flagged goal is listed"


def test_the_review_column_marks_the_flagged_goals_alone(admin_client):
    flagged = make_goal(state=GoalState.FAILED)
    Goal.objects.filter(pk=flagged.pk).update(needs_review=True, review_reason="stalled: no attempt left")
    for _ in range(3):
        make_goal(state=GoalState.SUCCEEDED)
    body = admin_client.get("/admin/goals/goal/").content.decode()
    cells = body.split('<td class="field-flagged">')[1:]
    assert len(cells) == 4
    assert sum("&#9873;" in cell.split("</td>")[0] for cell in cells) == 1
    assert 'title="stalled: no attempt left"' in body
    assert "icon-no.svg" not in body, "no mark on a goal that is not flagged"


def test_the_admin_never_deletes_goals_or_reports(admin_client):
    """A delete would cascade the journal away: no button, no bulk action, and the URL refuses."""
    goal = submit("tests.noop", {})
    report, _ = run_pass(trigger="test")
    detail = admin_client.get(f"/admin/goals/goal/{goal.pk}/change/").content.decode()
    assert f"/admin/goals/goal/{goal.pk}/delete/" not in detail
    assert 'value="delete_selected"' not in admin_client.get("/admin/goals/goal/").content.decode()
    assert admin_client.get(f"/admin/goals/goal/{goal.pk}/delete/").status_code == 403
    bulk = admin_client.post("/admin/goals/goal/", {"action": "delete_selected", "_selected_action": [goal.pk],
                                                    "post": "yes"})
    assert bulk.status_code in (200, 302)
    assert admin_client.get(f"/admin/goals/reconciliationreport/{report.pk}/delete/").status_code == 403
    assert Goal.objects.filter(pk=goal.pk).exists()
    assert goal.events.exists()
