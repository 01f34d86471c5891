"""Goals that start later wait as ``scheduled`` in PostgreSQL and are sent once, when beat releases them."""

from __future__ import annotations

from datetime import datetime, timedelta

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


@pytest.fixture
def timers_set(monkeypatch):
    """The times the release timers were set for (``goals.submitting.timers.arm``), in place of the broker;
    that a timer releases its goal on a real worker is ``tests/worker/test_submit.py``'s."""
    from goals.submitting import timers

    times = []
    monkeypatch.setattr(timers, "arm", lambda at: times.extend(at) or len(at))
    return times


def test_a_goal_starting_before_beats_next_release_sets_a_timer_at_its_time(committed, timers_set):
    from goals.submitting.timers import due_tick

    with committed():
        soon = api.submit("tests.unconsumed", countdown=2)
        api.submit("tests.unconsumed", countdown=3600)  # beat's to see, nearer its time
    assert timers_set == [due_tick(soon.run_after)]
    assert soon.run_after <= timers_set[0] < soon.run_after + timedelta(seconds=0.1)


def test_beats_release_sets_the_timers_of_the_goals_coming_due_before_its_next_one(timers_set, settings):
    from goals.submitting.timers import due_tick

    settings.GOALS_RELEASE_INTERVAL = 5
    goals = api.submit_many("tests.noop", [{}, {}, {}], countdown=3600)
    now = timezone.now()
    starts = [now + timedelta(seconds=2), now + timedelta(seconds=2.01), now + timedelta(seconds=4)]
    for goal, start in zip(goals, starts, strict=True):
        Goal.objects.filter(pk=goal.pk).update(run_after=start)
    timers_set.clear()
    assert release_due_goals() == 0
    assert timers_set == sorted({due_tick(start) for start in starts}), "one timer per tenth of a second"
    timers_set.clear()
    release_due_goals(look_ahead=False)
    assert timers_set == [], "a timer's own release looks no further"


def test_a_waiting_goal_can_be_started_later_or_sooner_and_each_change_is_journaled(committed, timers_set):
    from django.contrib.auth.models import User

    alice = User.objects.create_user("alice")
    with committed():
        goal = api.submit("tests.unconsumed", countdown=600)
        later = goal.run_after + timedelta(hours=1)
        moved = api.reschedule(goal.pk, run_after=later, actor=alice, reason="customer asked")
    assert (moved.state, moved.run_after, moved.attempt) == (GoalState.SCHEDULED, later, 1)
    event = moved.events.latest("id")
    assert (event.transition, event.from_state, event.to_state, event.actor, event.cause) == (
        "reschedule", "scheduled", "scheduled", "alice", "api")
    assert event.details == {"run_after": later.isoformat(), "was": goal.run_after.isoformat(),
                             "reason": "customer asked"}
    assert timers_set == [], "an hour away: beat's to see"
    with committed():
        now = api.reschedule(goal.pk, countdown=0)
    assert timers_set, "due now: a timer releases it at once"
    assert now.state == GoalState.SCHEDULED
    with committed():
        assert release_due_goals(look_ahead=False) == 1
    assert purge_unconsumed() == 1
    with pytest.raises(api.TransitionNotAllowed):
        api.reschedule(goal.pk, countdown=60)


@pytest.mark.parametrize(("options", "field"), [
    ({}, "run_after"),
    ({"run_after": timezone.now().replace(tzinfo=None)}, "run_after"),
    ({"countdown": -1}, "countdown"),
    ({"countdown": float("nan")}, "countdown"),
    ({"countdown": 7200}, "deadline"),
])
def test_a_bad_new_start_time_is_refused_naming_its_field_and_nothing_changes(options, field):
    goal = api.submit("tests.noop", countdown=600, deadline=timezone.now() + timedelta(hours=1))
    with pytest.raises(GoalValidationError) as refused:
        api.reschedule(goal.pk, **options)
    assert field in refused.value.message_dict
    stored = Goal.objects.get(pk=goal.pk)
    assert (stored.state, stored.run_after) == (GoalState.SCHEDULED, goal.run_after)
    assert journal(goal) == [("submit", "", "scheduled")]


def test_over_http_a_waiting_goal_is_rescheduled_by_its_owner_only(timers_set):
    from django.contrib.auth.models import User
    from django.test import Client

    from goals.tokens import api_token_create

    _, key = api_token_create(user=User.objects.create_user("alice"), name="tests")
    _, other_key = api_token_create(user=User.objects.create_user("bob"), name="tests")
    alice = Client(headers={"Authorization": f"Token {key}"})
    bob = Client(headers={"Authorization": f"Token {other_key}"})
    goal = alice.post("/api/goals/", {"kind": "tests.noop", "countdown": 600}, content_type="application/json").json()
    path = f"/api/goals/{goal['id']}/reschedule"
    later = (timezone.now() + timedelta(hours=2)).isoformat()
    assert bob.post(path, {"run_after": later}, content_type="application/json").status_code == 404
    for body, field in [({}, "run_after"), ({"run_after": "soon"}, "run_after"), ({"countdown": -1}, "countdown"),
                        ({"when": 5}, "when")]:
        refused = alice.post(path, body, content_type="application/json")
        assert refused.status_code == 400, body
        assert field in refused.json()["fields"], refused.json()
    moved = alice.post(path, {"run_after": later, "reason": "after the meeting"}, content_type="application/json")
    assert moved.status_code == 200, moved.json()
    assert Goal.objects.get(pk=goal["id"]).run_after == datetime.fromisoformat(later)
    assert moved.json()["run_after"][:23] == later[:23], "JSON gives milliseconds"
    alice.post(f"/api/goals/{goal['id']}/cancel", content_type="application/json")
    conflict = alice.post(path, {"countdown": 5}, content_type="application/json")
    assert (conflict.status_code, conflict.json()["state"]) == (409, "cancelled")


def test_a_long_back_off_waits_as_a_scheduled_attempt_and_a_short_one_uses_celerys_retry(settings, timers_set):
    from goals.lifecycle.states import RETRY_LATER, SCHEDULE_RETRY
    from goals.worker.callbacks import attempt_retrying
    from tests.factories import make_goal

    error = {"type": "Boom", "message": "later", "traceback": ""}
    for alone in (True, False):
        goal = make_goal(state=GoalState.RUNNING, attempt=1, max_attempts=3)
        starts = timezone.now() + timedelta(minutes=10)
        attempt_retrying(goal_id=str(goal.pk), attempt=1, task_id=goal.task_id, worker="w", error=error,
                         next_task_id=f"next-{alone}", countdown=600, progress=None, result_row=None,
                         alone=alone, run_after=starts)
        stored = Goal.objects.get(pk=goal.pk)
        assert (stored.state, stored.attempt, stored.task_id, stored.run_after, stored.queued_at) == (
            GoalState.SCHEDULED, 2, f"next-{alone}", starts, None)
        assert stored.error["message"] == "later"
        assert list(stored.attempts.order_by("number").values_list("number", "outcome", "queued_at")) == [
            (1, "failed", None), (2, "", None)]
        event = stored.events.latest("id")
        assert (event.transition, event.to_state, event.details) == (RETRY_LATER.name, "scheduled",
                                                                     {"countdown": 600})
    goal = make_goal(state=GoalState.RUNNING, attempt=1, max_attempts=3)
    attempt_retrying(goal_id=str(goal.pk), attempt=1, task_id=goal.task_id, worker="w", error=error,
                     next_task_id="soon", countdown=2, progress=None, result_row=None, alone=True)
    assert Goal.objects.get(pk=goal.pk).events.latest("id").transition == SCHEDULE_RETRY.name
    assert Goal.objects.get(pk=goal.pk).state == GoalState.RETRYING


def test_the_reconciler_releases_a_goal_left_waiting_past_its_time(committed):
    from goals.conf import goal_settings
    from goals.models import Action, Finding
    from goals.reconciler.passes import run_pass

    goal = api.submit("tests.unconsumed", countdown=600)
    grace = goal_settings().reconcile_pending_grace
    Goal.objects.filter(pk=goal.pk).update(run_after=timezone.now() - timedelta(seconds=grace / 2))
    assert [f for f in run_pass(trigger="test")[1] if f.goal_id == goal.pk] == [], "within the grace: beat's"
    Goal.objects.filter(pk=goal.pk).update(run_after=timezone.now() - timedelta(seconds=grace + 1))
    with committed():
        _report, findings = run_pass(trigger="test")
    [finding] = [f for f in findings if f.goal_id == goal.pk]
    assert (finding.kind, finding.action, finding.after_state) == (Finding.DUE_NOT_RELEASED, Action.RELEASED,
                                                                   GoalState.QUEUED)
    assert [t for t, _, _ in journal(goal)] == ["submit", "release", "enqueue"]
    assert Goal.objects.get(pk=goal.pk).events.get(transition="release").cause == "reconciler"
    assert purge_unconsumed() == 1


def test_the_reconciler_reads_goals_waiting_for_their_time_only_once_it_comes_or_a_rule_can_judge_them():
    from goals.models import Finding
    from goals.reconciler.passes import run_pass
    from tests.factories import make_goal

    later, past = timezone.now() + timedelta(hours=1), timezone.now() - timedelta(hours=1)
    running = make_goal(state=GoalState.RUNNING)
    make_goal(state=GoalState.SCHEDULED, run_after=later)
    make_goal(state=GoalState.WAITING, wait_event="payment.captured", wait_key="order:1", run_after=later)
    overdue = make_goal(state=GoalState.SCHEDULED, run_after=later, deadline=past)
    parent = make_goal(state=GoalState.CANCELLED)
    orphan = make_goal(state=GoalState.SCHEDULED, run_after=later, parent=parent, child_key="0")
    released = make_goal(state=GoalState.PENDING, run_after=past, now=past)
    report, findings = run_pass(trigger="test", dry_run=True)
    assert report.goals_scanned == 4, "the running and released goals, the overdue one and the child"
    found = {f.goal_id: f.kind for f in findings}
    assert (found[overdue.pk], found[orphan.pk]) == (Finding.OVERDUE, Finding.ORPHANED_CHILD)
    assert found[released.pk] == Finding.NEVER_SENT, "a released goal is judged as any active goal"
    assert running.pk not in found
