"""The admin shows goals being watched: state, progress, attempts and journal, with nothing editable."""

from __future__ import annotations

import pytest

from goals.api import submit
from goals.states import GoalState
from tests.factories import make_goal

pytestmark = pytest.mark.django_db


def test_list_shows_state_and_progress(admin_client):
    make_goal(state=GoalState.RUNNING, progress_current=3, progress_total=4, progress_message="three")
    response = admin_client.get("/admin/goals/goal/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "75%" in body
    assert "running" in body


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
