"""Goals that start later wait as ``scheduled`` in PostgreSQL and are sent once, when beat releases them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from goals import api
from goals.exceptions import GoalValidationError
from goals.lifecycle.states import GoalState
from goals.models import Goal, GoalEvent
from goals.submitting.release import release_due_goals
from tests.executors import purge_unconsumed

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(settings, django_capture_on_commit_callbacks):
    """Runs what a block hands over on commit when it ends (the sender, here on the committing thread,
    publishing to the queue no worker consumes); ``purge_unconsumed()`` counts what reached the broker."""
    settings.GOALS_SEND_IN_BACKGROUND = False
    purge_unconsumed()
    yield lambda: django_capture_on_commit_callbacks(execute=True)
    purge_unconsumed()


def journal(goal: Goal) -> list[tuple[str, str, str]]:
    return list(GoalEvent.objects.filter(goal=goal).order_by("id").values_list("transition", "from_state", "to_state"))


def test_a_goal_submitted_to_start_later_waits_in_the_database_and_is_not_sent(committed):
    later = timezone.now() + timedelta(hours=3)
    with committed():
        goal = api.submit("tests.unconsumed", run_after=later)
        soon = api.submit("tests.unconsumed", countdown=600)
    assert (goal.state, goal.run_after) == (GoalState.SCHEDULED, later)
    stored = Goal.objects.get(pk=goal.pk)
    assert (stored.state, stored.run_after, stored.attempt) == (GoalState.SCHEDULED, later, 1)
    assert Goal.objects.get(pk=soon.pk).state == GoalState.SCHEDULED
    assert journal(goal) == [("submit", "", "scheduled")]
    assert purge_unconsumed() == 0, "nothing in the broker while it waits"


def test_a_start_time_already_come_sends_the_goal_at_once(committed):
    with committed():
        goal = api.submit("tests.unconsumed", countdown=0)
        past = api.submit("tests.unconsumed", run_after=timezone.now() - timedelta(minutes=1))
    assert {Goal.objects.get(pk=g.pk).state for g in (goal, past)} == {GoalState.QUEUED}
    assert Goal.objects.get(pk=goal.pk).run_after is None
    assert purge_unconsumed() == 2


def test_beat_releases_the_due_goals_once_each_and_leaves_the_others_waiting(committed):
    due = api.submit_many("tests.unconsumed", [{}, {}], countdown=60)
    waiting = api.submit("tests.unconsumed", countdown=3600)
    Goal.objects.filter(pk__in=[g.pk for g in due]).update(run_after=timezone.now() - timedelta(seconds=1))
    with committed(), CaptureQueriesContext(connection) as queries:
        assert release_due_goals() == 2
    released = [q["sql"] for q in queries.captured_queries if "-- goaltrack:" in q["sql"]]
    assert [sql.split("\n")[0] for sql in released[:2]] == ["-- goaltrack: claim_due_goals", "-- goaltrack: move_goals"]
    assert release_due_goals() == 0, "released once"
    for goal in due:
        assert Goal.objects.get(pk=goal.pk).state == GoalState.QUEUED
        assert journal(goal) == [("submit", "", "scheduled"), ("release", "scheduled", "pending"),
                                 ("enqueue", "pending", "queued")]
    assert Goal.objects.get(pk=waiting.pk).state == GoalState.SCHEDULED
    assert purge_unconsumed() == 2


def test_a_scheduled_goal_cancelled_never_runs(committed):
    with committed():
        goal = api.submit("tests.unconsumed", countdown=60)
        api.cancel(goal.pk, reason="not needed after all")
        Goal.objects.filter(pk=goal.pk).update(run_after=timezone.now() - timedelta(seconds=1))
        assert release_due_goals() == 0
    assert Goal.objects.get(pk=goal.pk).state == GoalState.CANCELLED
    assert purge_unconsumed() == 0


@pytest.mark.parametrize(("options", "field"), [
    ({"run_after": timezone.now().replace(tzinfo=None)}, "run_after"),
    ({"run_after": "tomorrow"}, "run_after"),
    ({"countdown": -1}, "countdown"),
    ({"countdown": True}, "countdown"),
    ({"countdown": float("nan")}, "countdown"),
    ({"countdown": float("inf")}, "countdown"),
    ({"countdown": 1e300}, "countdown"),
    ({"countdown": 10, "run_after": timezone.now()}, "countdown"),
    ({"countdown": 3600, "deadline": timezone.now() + timedelta(minutes=5)}, "deadline"),
])
def test_a_bad_start_time_is_refused_naming_its_field_and_nothing_is_written(options, field):
    with pytest.raises(GoalValidationError) as refused:
        api.submit("tests.noop", **options)
    assert field in refused.value.message_dict
    with pytest.raises(GoalValidationError) as refused_many:
        api.submit_many("tests.noop", [{}, {}], **options)
    assert field in refused_many.value.message_dict
    assert not Goal.objects.exists()


def test_a_released_goal_not_yet_sent_is_not_taken_for_one_never_sent():
    """The reconciler counts a released goal's wait from its start time, not from its first attempt's row
    (written at submit, perhaps days before)."""
    from goals.conf import goal_settings
    from goals.lifecycle.states import RELEASE
    from goals.lifecycle.transitions import GoalMove, apply_transitions
    from goals.models import Attempt, Finding
    from goals.reconciler.passes import run_pass

    goal = api.submit("tests.noop", countdown=60)
    long_ago = timezone.now() - timedelta(days=3)
    Goal.objects.filter(pk=goal.pk).update(created_at=long_ago, run_after=timezone.now() - timedelta(seconds=1))
    Attempt.objects.filter(goal=goal).update(created_at=long_ago)
    # Released, its publish still to come (the releaser's sender has not sent it yet).
    [released] = apply_transitions(RELEASE, [GoalMove(goal_id=goal.pk, attempt=None)], cause="publisher")
    assert released.applied

    def found() -> set:
        return {f.kind for f in run_pass(trigger="test", dry_run=True)[1] if f.goal_id == goal.pk}

    assert found() == set()
    grace = goal_settings().reconcile_pending_grace
    Goal.objects.filter(pk=goal.pk).update(run_after=timezone.now() - timedelta(seconds=grace + 60))
    assert found() == {Finding.NEVER_SENT}, "past the grace since its start: sent by the reconciler"


def test_a_goal_keeps_its_start_time_until_it_ends():
    goal = api.submit("tests.noop", countdown=60)
    due = timezone.now() - timedelta(seconds=1)
    Goal.objects.filter(pk=goal.pk).update(run_after=due)
    assert release_due_goals() == 1
    released = Goal.objects.get(pk=goal.pk)
    assert (released.state, released.run_after) == (GoalState.PENDING, due), "kept while it is active"
    api.cancel(goal.pk)
    assert Goal.objects.get(pk=goal.pk).run_after is None, "cleared by the final move"


def test_over_http_a_goal_starts_later_and_a_bad_start_time_is_a_400_naming_the_field():
    from django.contrib.auth.models import User
    from django.test import Client

    from goals.tokens import api_token_create

    _, key = api_token_create(user=User.objects.create_user("alice"), name="tests")
    client = Client(headers={"Authorization": f"Token {key}"})
    later = (timezone.now() + timedelta(hours=2)).isoformat()
    one = client.post("/api/goals/", {"kind": "tests.noop", "run_after": later}, content_type="application/json")
    assert one.status_code == 202, one.json()
    assert (one.json()["state"], one.json()["run_after"] is not None) == ("scheduled", True)
    many = client.post("/api/goals/bulk", {"kind": "tests.noop", "items": [{}, {}], "countdown": 90},
                       content_type="application/json")
    assert many.status_code == 202, many.json()
    assert {result["goal"]["state"] for result in many.json()["results"]} == {"scheduled"}
    for body, field in [({"run_after": "tomorrow"}, "run_after"), ({"run_after": "2030-01-01T02:00:00"}, "run_after"),
                        ({"countdown": -5}, "countdown"), ({"countdown": "10"}, "countdown"),
                        ({"countdown": 3 * 3600, "deadline": later}, "deadline")]:
        refused = client.post("/api/goals/", {"kind": "tests.noop", **body}, content_type="application/json")
        assert refused.status_code == 400, body
        assert field in refused.json()["fields"], refused.json()
    assert Goal.objects.count() == 3
