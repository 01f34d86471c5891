"""Goals every period, exactly once: a period's start is part of its goal's identity in the database."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from goals import api
from goals.models import Goal, Schedule, ScheduleEvent
from goals.periodic.periods import give_periods, period_key, period_of

pytestmark = pytest.mark.django_db


def events(schedule: Schedule) -> list[tuple[str, int, str]]:
    return list(ScheduleEvent.objects.filter(schedule=schedule).order_by("id").values_list("event", "count", "actor"))


def missed(schedule: Schedule, periods: int) -> Schedule:
    """As if nothing had run for ``periods`` periods of a minute, all begun more than the grace ago."""
    start = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=periods)
    Schedule.objects.filter(pk=schedule.pk).update(next_period=start)
    return Schedule.objects.get(pk=schedule.pk)


def test_a_schedule_gives_each_period_one_goal_scheduled_at_its_start_however_often_the_releaser_runs():
    schedule = api.define_schedule("tests.every-2s", "tests.noop", every=2)
    assert events(schedule) == [("created", 1, "")]
    soon = schedule.next_period
    assert soon > timezone.now()
    for _ in range(3):
        give_periods()
    goals = sorted(Goal.objects.filter(schedule=schedule), key=period_of)
    assert goals, "the periods starting before the release's look-ahead ends"
    assert period_of(goals[0]) == soon
    assert len({period_of(g) for g in goals}) == len(goals), "one goal per period"
    # Scheduled at the period's start; one whose start passed before its insert (a slow machine) went on.
    assert all(g.run_after == period_of(g) if g.state == "scheduled" else g.run_after is None for g in goals)
    assert all(g.idempotency_key == period_key(schedule, period_of(g)) for g in goals)
    submitted = goals[0].events.get()
    assert (submitted.transition, submitted.cause, submitted.actor) == ("submit", "schedule", "schedule tests.every-2s")
    schedule.refresh_from_db()
    assert schedule.last_period == period_of(goals[-1])
    assert schedule.next_period == period_of(goals[-1]) + timedelta(seconds=2)


@pytest.mark.django_db(transaction=True)
def test_releasers_racing_give_a_period_one_goal():
    schedule = api.define_schedule("tests.raced", "tests.noop", every=1)
    barrier = threading.Barrier(4)
    errors = []

    def releaser():
        try:
            barrier.wait()
            for _ in range(5):
                give_periods()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=releaser) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    starts = [period_of(goal) for goal in Goal.objects.filter(schedule=schedule)]
    assert starts
    assert len(starts) == len(set(starts)), "no period twice"
    first, last = min(starts), max(starts)
    assert len(starts) == round((last - first).total_seconds()) + 1, "no period missing"


@pytest.mark.parametrize(("catch_up", "limit", "kept"), [("none", 10, 0), ("latest", 10, 1), ("all", 3, 3),
                                                         ("all", 50, 10)])
def test_periods_missed_while_nothing_ran_follow_the_catch_up_policy_journaled(catch_up, limit, kept):
    schedule = missed(api.define_schedule("tests.minutely", "tests.noop", crontab="* * * * *", catch_up=catch_up,
                                          catch_up_limit=limit), periods=10)
    give_periods()
    cut = timezone.now() - timedelta(seconds=60)
    past = [goal for goal in Goal.objects.filter(schedule=schedule) if period_of(goal) < cut]
    caught = sorted(period_of(goal) for goal in past)
    assert len(caught) == kept
    if kept:
        # The most recent ones, each a minute apart: what a person wants of a long outage.
        assert caught[-1] >= timezone.now() - timedelta(minutes=2)
        assert [(b - a).total_seconds() for a, b in itertools.pairwise(caught)] == [60] * (kept - 1)
        assert {g.state for g in past} == {"pending"}, "their time has passed: sent at once"
    journal = {event: count for event, count, _actor in events(schedule)}
    assert journal.get("caught_up", 0) == kept
    assert journal.get("skipped", 0) + kept == 10


def test_a_paused_schedule_gives_nothing_and_resumes_without_catching_up_its_pause():
    from django.contrib.auth.models import User

    alice = User.objects.create_user("alice")
    schedule = api.define_schedule("tests.paused", "tests.noop", crontab="* * * * *")
    api.pause_schedule("tests.paused", actor=alice, reason="supplier down")
    missed(schedule, periods=5)
    give_periods()
    assert not Goal.objects.filter(schedule=schedule).exists()
    resumed = api.resume_schedule("tests.paused", actor=alice)
    assert resumed.next_period > timezone.now()
    give_periods()
    assert all(period_of(goal) > timezone.now() for goal in Goal.objects.filter(schedule=schedule))
    assert events(schedule) == [("created", 1, ""), ("paused", 1, "alice"), ("resumed", 1, "alice")]
    api.define_schedule("tests.paused", "tests.noop", crontab="* * * * *", catch_up="none")
    assert not Schedule.objects.get(pk=schedule.pk).paused, "defining it again changes what it says, not a pause"


def test_a_period_triggered_by_hand_is_journaled_with_its_person_and_never_made_twice():
    from django.contrib.auth.models import User

    bob = User.objects.create_user("bob")
    schedule = api.define_schedule("tests.nightly", "tests.noop", crontab="0 2 * * *", timezone="Europe/Paris")
    goal, created = api.trigger_schedule("tests.nightly", actor=bob)
    assert created
    period = period_of(goal)
    assert (period.astimezone(schedule_zone()).hour, period.minute) == (2, 0)
    assert period <= timezone.now() < period + timedelta(days=1), "the latest period that has begun"
    again, created_again = api.trigger_schedule("tests.nightly", actor=bob, period=period)
    assert (again.pk, created_again) == (goal.pk, False)
    assert [e[0] for e in events(schedule)] == ["created", "triggered", "triggered"]
    assert ScheduleEvent.objects.filter(schedule=schedule, event="triggered").first().actor == "bob"
    assert goal.events.get().actor == "bob"
    with pytest.raises(api.GoalValidationError) as refused:
        api.trigger_schedule("tests.nightly", period=period + timedelta(minutes=1))
    assert "period" in refused.value.message_dict


def schedule_zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(("options", "field"), [
    ({"crontab": "0 2 30 2 *"}, "crontab"),
    ({"crontab": "0 2 * * *", "timezone": "Europe/Atlantis"}, "timezone"),
    ({"crontab": "0 2 * * *", "every": 60}, "crontab"),
    ({"every": -1}, "every"),
    ({"every": 60, "catch_up": "some"}, "catch_up"),
    ({"every": 60, "catch_up": "all", "catch_up_limit": 0}, "catch_up_limit"),
    ({"every": 60, "kind": "tests.nothing_registered"}, "kind"),
])
def test_a_schedule_that_cannot_give_goals_is_refused_naming_its_field_and_nothing_is_written(options, field):
    arguments = {"kind": "tests.noop", **options}
    with pytest.raises(api.GoalValidationError) as refused:
        api.define_schedule("tests.bad", **arguments)
    assert field in refused.value.message_dict
    assert not Schedule.objects.exists()


def test_a_period_goal_is_an_ordinary_goal_found_by_its_schedule():
    schedule = api.define_schedule("tests.orm", "tests.noop", every=3600)
    goal, _ = api.trigger_schedule("tests.orm")
    assert list(Goal.objects.filter(schedule__name="tests.orm")) == [goal]
    assert goal.run_after is None or goal.run_after <= datetime.now(UTC)
    assert schedule.goals.count() == 1


def test_in_the_admin_a_person_adds_a_schedule_sees_its_periods_and_pauses_or_runs_it_journaled(admin_client):
    url = "/admin/goals/schedule/"
    form = {"name": "reports.nightly", "kind": "tests.noop", "params": "{}", "crontab": "0 2 30 2 *",
            "every": "", "timezone": "Europe/Paris", "catch_up": "latest", "catch_up_limit": "10", "owner": ""}
    refused = admin_client.post(url + "add/", form)
    assert refused.status_code == 200
    assert "never fires" in refused.content.decode()
    assert not Schedule.objects.exists()
    added = admin_client.post(url + "add/", {**form, "crontab": "0 2 * * *"})
    assert added.status_code == 302, added.content.decode()[:2000]
    schedule = Schedule.objects.get(name="reports.nightly")
    assert schedule.next_period.astimezone(schedule_zone()).hour == 2
    response = admin_client.post(url, {"action": "trigger_selected", "_selected_action": [schedule.pk]}, follow=True)
    assert "given its goal" in response.content.decode()
    goal = Goal.objects.get(schedule=schedule)
    admin_client.post(url, {"action": "pause_selected", "_selected_action": [schedule.pk]})
    assert Schedule.objects.get(pk=schedule.pk).paused
    listing = admin_client.get(url).content.decode()
    assert f"/admin/goals/goal/{goal.pk}/change/" in listing, "the last period links its goal"
    page = admin_client.get(f"{url}{schedule.pk}/change/").content.decode()
    assert f"/admin/goals/goal/{goal.pk}/change/" in page
    assert [(event, actor) for event, _count, actor in events(schedule)] == [
        ("created", "admin"), ("triggered", "admin"), ("paused", "admin")]
