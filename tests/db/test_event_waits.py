"""Goals that wait for an outside event: kept until consumed, consumed once, fenced against the deadline."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from goals import api
from goals.exceptions import GoalNotFound, GoalValidationError
from goals.models import ExternalEvent, Goal
from goals.waits.events import WaitForEvent, send_event, time_out_waits
from goals.worker.callbacks import attempt_awaiting_event
from tests.factories import make_goal

pytestmark = pytest.mark.django_db


def running_goal(order: str = "42", owner: User | None = None) -> Goal:
    return make_goal(state="running", kind="tests.awaits_payment", params={"order": order}, owner=owner)


def wait(goal: Goal, *, key: str | None = "order:42", until=None) -> Goal:
    attempt_awaiting_event(goal_id=str(goal.pk), attempt=goal.attempt, task_id=goal.task_id, worker="w",
                           wait=WaitForEvent(name="payment.captured", key=key, until=until, then="tests.ships"),
                           budget=1)
    return Goal.objects.get(pk=goal.pk)


def moves(goal: Goal) -> list[tuple[str, str, str]]:
    return list(goal.events.filter(event="transition").order_by("id").values_list("transition", "to_state", "cause"))


def test_a_goal_waits_holding_no_worker_and_the_event_resumes_it_once_with_its_payload():
    goal = wait(running_goal(), until=timezone.now() + timedelta(hours=72))
    assert (goal.state, goal.wait_event, goal.wait_key, goal.attempt) == ("waiting", "payment.captured", "order:42", 1)
    assert goal.continuation == "tests.ships"
    assert goal.run_after is not None, "the wait's deadline"
    sent = api.send_event("payment.captured", {"amount": 1200}, key="order:42", event_key="hook-1")
    assert (sent.duplicate, sent.resumed) == (False, goal.pk)
    resumed = Goal.objects.get(pk=goal.pk)
    assert (resumed.state, resumed.attempt, resumed.wait_key, resumed.wait_event) == ("pending", 2, None, "")
    assert resumed.run_after is None, "pending from now: the reconciler counts a lost send from its new attempt"
    assert moves(resumed)[-2:] == [("await_event", "waiting", "executor"), ("resume", "pending", "event")]
    event = ExternalEvent.objects.get(pk=sent.id)
    assert (event.consumed_by_id, event.consumed_attempt) == (goal.pk, 2)
    again = api.send_event("payment.captured", {"amount": 1200}, key="order:42", event_key="hook-1")
    assert (again.id, again.duplicate, again.resumed) == (sent.id, True, None), "a webhook's retry is one event"
    later = api.send_event("payment.captured", {"amount": 1}, key="order:42", event_key="hook-2")
    assert later.resumed is None, "the goal no longer waits: kept, not consumed"
    assert ExternalEvent.objects.get(pk=later.id).consumed_at is None
    assert Goal.objects.get(pk=goal.pk).attempt == 2


def test_an_event_that_arrives_before_the_wait_is_kept_and_taken_as_the_wait_begins():
    early = api.send_event("payment.captured", {"amount": 5}, key="order:42")
    assert early.resumed is None
    goal = wait(running_goal())
    assert (goal.state, goal.attempt) == ("pending", 2)
    assert [m[0] for m in moves(goal)][-2:] == ["await_event", "resume"]
    assert ExternalEvent.objects.get(pk=early.id).consumed_by_id == goal.pk
    other = wait(running_goal("43"), key="order:43")
    assert other.state == "waiting", "an event for another key is not its"


def test_an_event_by_goal_id_and_the_deadline_racing_resume_it_once():
    goal = wait(running_goal(), key=None, until=timezone.now() + timedelta(seconds=30))
    Goal.objects.filter(pk=goal.pk).update(run_after=timezone.now() - timedelta(seconds=1))
    assert time_out_waits() == 1
    assert [m[0] for m in moves(Goal.objects.get(pk=goal.pk))][-1] == "time_out"
    late = api.send_event("payment.captured", {}, goal_id=goal.pk)
    assert late.resumed is None
    assert Goal.objects.get(pk=goal.pk).attempt == 2, "the timeout won; the event is kept, not consumed"
    assert time_out_waits() == 0


def test_a_goal_takes_only_events_its_owner_or_the_system_sent():
    alice, mallory = User.objects.create_user("alice"), User.objects.create_user("mallory")
    goal = wait(running_goal(owner=alice))
    stranger = send_event(name="payment.captured", payload={}, key="order:42", owner_id=mallory.pk)
    assert stranger.resumed is None
    assert Goal.objects.get(pk=goal.pk).state == "waiting"
    own = send_event(name="payment.captured", payload={}, key="order:42", owner_id=alice.pk)
    assert own.resumed == goal.pk


@pytest.mark.parametrize(("options", "field"), [
    ({"name": "Payment Captured", "key": "k"}, "name"),
    ({"name": "payment.captured"}, "key"),
    ({"name": "payment.captured", "key": "k", "goal_id": "01a23ff3-6b08-7fbb-9df7-3674e59bddef"}, "key"),
    ({"name": "payment.captured", "key": ""}, "key"),
    ({"name": "payment.captured", "key": "k", "payload": {1, 2}}, "payload"),
    ({"name": "payment.captured", "key": "k", "payload": float("nan")}, "payload"),
    ({"name": "payment.captured", "key": "k", "payload": "x" * 70_000}, "payload"),
    ({"name": "payment.captured", "key": "k", "event_key": 7}, "event_key"),
])
def test_a_bad_event_is_refused_naming_its_field_and_nothing_is_written(options, field):
    arguments = {"payload": None, **options}
    with pytest.raises(GoalValidationError) as refused:
        send_event(**arguments)
    assert field in refused.value.message_dict
    assert not ExternalEvent.objects.exists()


def test_an_event_for_a_goal_that_does_not_exist_is_not_found_and_not_written():
    with pytest.raises(GoalNotFound):
        api.send_event("payment.captured", {}, goal_id="01a23ff3-6b08-7fbb-9df7-3674e59bddef")
    assert not ExternalEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_events_and_the_wait_racing_resume_the_goal_exactly_once_and_lose_no_event(settings):
    # The resumed goal is published by the thread that resumed it, before the test ends: a sender thread
    # still marking it queued would race the flush of the database.
    settings.GOALS_SEND_IN_BACKGROUND = False
    goal = running_goal()
    barrier = threading.Barrier(5)
    errors, results = [], []

    def sender(n: int) -> None:
        try:
            barrier.wait()
            results.append(api.send_event("payment.captured", {"n": n}, key="order:42", event_key=f"hook-{n % 3}"))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    def waiter() -> None:
        try:
            barrier.wait()
            wait(goal)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(4)] + [threading.Thread(target=waiter)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    final = Goal.objects.get(pk=goal.pk)
    assert (final.state in ("pending", "queued"), final.attempt) == (True, 2), "resumed once, then sent"
    assert [m[0] for m in moves(final)].count("resume") == 1
    assert ExternalEvent.objects.count() == 3, "four sends, three event keys: three events"
    assert ExternalEvent.objects.filter(consumed_by=goal).count() == 1
    assert ExternalEvent.objects.filter(consumed_at__isnull=True).count() == 2, "the others kept"


def test_over_http_an_event_resumes_the_callers_goal_and_a_retry_is_a_200():
    from django.test import Client

    from goals.tokens import api_token_create

    alice, bob = User.objects.create_user("alice"), User.objects.create_user("bob")
    _, key = api_token_create(user=alice, name="shop")
    _, bob_key = api_token_create(user=bob, name="shop")
    client, other = (Client(headers={"Authorization": f"Token {k}"}) for k in (key, bob_key))
    goal = wait(running_goal(owner=alice))
    body = {"name": "payment.captured", "key": "order:42", "payload": {"amount": 3}, "event_key": "d-1"}
    assert other.post("/api/events/", {**body, "goal_id": None}, content_type="application/json").json()[
        "resumed"] is None, "bob's event is not alice's goal's"
    sent = client.post("/api/events/", {**body, "event_key": "d-2"}, content_type="application/json")
    assert sent.status_code == 202, sent.json()
    assert sent.json()["resumed"] == str(goal.pk)
    retried = client.post("/api/events/", {**body, "event_key": "d-2"}, content_type="application/json")
    assert (retried.status_code, retried.json()["duplicate"]) == (200, True)
    hidden = other.post("/api/events/", {"name": "payment.captured", "goal_id": str(goal.pk)},
                        content_type="application/json")
    assert hidden.status_code == 404
    for bad, field in [({"key": "k"}, "name"), ({"name": "x y", "key": "k"}, "name"),
                       ({"name": "a.b", "key": "k", "colour": 1}, "colour")]:
        refused = client.post("/api/events/", bad, content_type="application/json")
        assert refused.status_code == 400
        assert field in refused.json()["fields"]
    assert ExternalEvent.objects.count() == 2


def test_the_reconciler_times_out_a_wait_left_past_its_deadline():
    from goals.conf import goal_settings
    from goals.models import Action, Finding
    from goals.reconciler.passes import run_pass

    goal = wait(running_goal(), until=timezone.now() + timedelta(hours=1))
    grace = goal_settings().reconcile_pending_grace
    Goal.objects.filter(pk=goal.pk).update(run_after=timezone.now() - timedelta(seconds=grace + 1))
    _report, findings = run_pass(trigger="test")
    [finding] = [f for f in findings if f.goal_id == goal.pk]
    assert (finding.kind, finding.action) == (Finding.WAIT_EXPIRED, Action.TIMED_OUT)
    moved = Goal.objects.get(pk=goal.pk)
    timed_out = moved.events.get(transition="time_out")
    assert (moved.attempt, timed_out.attempt, timed_out.cause) == (2, 2, "reconciler")


def test_a_goal_waiting_for_an_event_is_not_taken_for_a_missed_fan_in():
    from goals.reconciler.passes import run_pass

    goal = wait(running_goal())
    assert [f for f in run_pass(trigger="test", dry_run=True)[1] if f.goal_id == goal.pk] == []


def test_an_event_for_a_goal_that_ended_without_it_is_reported_once():
    from goals.models import Action, Finding
    from goals.reconciler.passes import run_pass

    goal = wait(running_goal(), key=None)
    api.cancel(goal.pk, reason="order withdrawn")
    sent = api.send_event("payment.captured", {}, goal_id=goal.pk)
    assert sent.resumed is None
    [finding] = [f for f in run_pass(trigger="test")[1] if f.goal_id == goal.pk]
    assert (finding.kind, finding.action, finding.evidence["event"]) == (Finding.EVENT_UNCONSUMED, Action.REPORTED,
                                                                         sent.id)
    assert [f for f in run_pass(trigger="test")[1] if f.goal_id == goal.pk] == [], "once, not every pass"
