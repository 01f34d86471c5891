"""Rate limits on real PostgreSQL: a start before its turn is held until it (in order, evenly spaced), released
at its turn and started then; an operator's rate in force at once; bad rates refused naming the executor
(goals.executors.limits)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from goals.api import set_rate, submit, submit_many
from goals.exceptions import GoalValidationError
from goals.executors.limits import Rate, rate_of
from goals.executors.registry import declared_concurrency, declared_rates
from goals.lifecycle.transitions import start_attempt
from goals.models import Goal, KindEvent, RateWindow
from goals.submitting.release import release_due_goals

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_sending(kept_sends):
    """These tests play the worker themselves: what the moves send is kept (``kept_sends``)."""
    return kept_sends


def _start(goal: Goal):
    goal = Goal.objects.get(pk=goal.pk)
    return start_attempt(goal_id=goal.pk, attempt=goal.attempt, task_id=goal.task_id, worker="w1",
                         limits=declared_concurrency(), rates=declared_rates())


def test_a_start_before_its_turn_is_held_until_it_and_the_turns_are_spaced_in_order():
    first, second, third = submit_many("tests.rated", [{"tenant": "acme"}] * 3)
    other = submit("tests.rated", {"tenant": "globex"})
    assert RateWindow.objects.filter(kind="tests.rated").count() == 2, "each key's window made at submit"
    started = _start(first)
    assert started.applied
    held = [_start(second), _start(third)]
    assert [outcome.held for outcome in held] == [True, True]
    assert _start(other).applied, "another key has a window of its own"
    at = Goal.objects.get(pk=first.pk).started_at
    turns = [outcome.until for outcome in held]
    assert turns[0] >= at + timedelta(seconds=0.5)
    assert turns[1] - turns[0] == timedelta(seconds=0.5), "one every half second, in order"
    goal = Goal.objects.get(pk=second.pk)
    assert (goal.state, goal.held_for, goal.attempt, goal.run_after, goal.rate_turn) == (
        "held", "rate", 1, turns[0], turns[0])
    assert goal.waits_for.summary.startswith("waits for its turn under the rate of tests.rated (acme) until ")
    assert set(Goal.objects.waiting_for("rate")) == {goal, Goal.objects.get(pk=third.pk)}
    event = goal.events.latest("id")
    assert (event.transition, event.details["for"], event.details["key"]) == ("hold", "rate", "acme")
    # A goal that comes now, while turns are given out, waits behind them.
    fourth = submit("tests.rated", {"tenant": "acme"})
    assert _start(fourth).until == turns[1] + timedelta(seconds=0.5)


def test_a_held_goal_is_released_at_its_turn_and_starts_on_it(no_sending):
    first, second = submit_many("tests.rated", [{"tenant": "acme"}] * 2)
    _start(first)
    until = _start(second).until
    assert release_due_goals(look_ahead=False) == 0, "not before its turn"
    time.sleep(max(0.0, (until - Goal.objects.get(pk=first.pk).started_at).total_seconds()) + 0.1)
    assert release_due_goals(look_ahead=False) == 1
    released = Goal.objects.get(pk=second.pk)
    assert (released.state, released.held_for) == ("pending", "")
    assert [str(d.goal_id) for d in no_sending] == [str(second.pk)]
    started = _start(released)
    assert started.applied, "its turn came: it starts"
    assert Goal.objects.get(pk=second.pk).rate_turn is None
    assert len(RateWindow.objects.get(kind="tests.rated", key="acme").starts) == 2


def test_an_operators_rate_applies_from_the_next_start_and_is_journaled():
    set_rate("tests.noop", "1/m", actor="oncall", reason="partner asked")
    first, second = submit("tests.noop"), submit("tests.noop")
    assert _start(first).applied
    held = _start(second)
    assert held.held
    assert timedelta(seconds=59) < held.until - Goal.objects.get(pk=first.pk).started_at <= timedelta(seconds=60)
    event = KindEvent.objects.get(kind="tests.noop", event="rate")
    assert (event.actor, event.reason, event.details) == ("oncall", "partner asked", {"rate": 1, "per_seconds": 60.0})
    set_rate("tests.noop", None, actor="oncall")
    assert _start(submit("tests.noop")).applied, "no rate left: starts at once"


def test_bad_rates_are_refused_naming_the_executor_and_the_field():
    assert rate_of("x.y", "100/m") == Rate(100, "m")
    assert rate_of("x.y", "5/hour").period == 3600
    for bad, message in (("100/fortnight", "rate unit 'fortnight' is unknown"), ("many/m", "rate must read"),
                         ("0/m", "rate must allow a positive integer"),
                         (Rate(3, "minute", key="tenant"), "rate key must be a function"), (5, "rate must be")):
        with pytest.raises(ValueError, match=rf"executor 'x\.y': {message}"):
            rate_of("x.y", bad)
    with pytest.raises(GoalValidationError) as raised:
        set_rate("tests.noop", "3/fortnight")
    assert "rate unit 'fortnight' is unknown" in raised.value.message_dict["rate"][0]
    assert not KindEvent.objects.exists()
