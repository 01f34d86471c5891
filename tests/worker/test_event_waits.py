"""A goal that waits for an outside event on a real worker: resumed by the event, or by its deadline."""

from __future__ import annotations

import pytest

from goals.api import send_event, submit
from goals.lifecycle.states import GoalState
from tests.conftest import wait_final, wait_for

pytestmark = pytest.mark.worker


def transitions(goal) -> list[str]:
    return [e.transition for e in goal.events.filter(event="transition").exclude(transition="enqueue").order_by("id")]


def test_a_goal_waits_holding_no_worker_and_its_continuation_runs_with_the_event(worker):
    goal = submit("tests.awaits_payment", {"order": "w-1"})
    waiting = wait_for(goal.pk, lambda g: g.state == GoalState.WAITING, worker=worker)
    assert (waiting.wait_event, waiting.wait_key, waiting.attempts.get(number=1).outcome) == (
        "payment.captured", "order:w-1", "waiting")
    sent = send_event("payment.captured", {"amount": 1200}, key="order:w-1", event_key="webhook-w-1")
    assert sent.resumed == goal.pk
    done = wait_final(goal.pk, worker=worker)
    assert (done.state, done.attempt) == (GoalState.SUCCEEDED, 2)
    assert done.result == {"order": "w-1", "paid": {"amount": 1200}, "timed_out": False}
    assert transitions(done) == ["submit", "start", "await_event", "resume", "start", "succeed"]


def test_a_wait_whose_deadline_passes_first_continues_without_the_event_released_by_its_timer(worker):
    goal = submit("tests.awaits_payment", {"order": "w-2", "timeout": 1.0})
    done = wait_final(goal.pk, worker=worker)
    assert done.result == {"order": "w-2", "paid": None, "timed_out": True}
    assert transitions(done) == ["submit", "start", "await_event", "time_out", "start", "succeed"]
    late = send_event("payment.captured", {}, key="order:w-2")
    assert late.resumed is None, "the goal no longer waits: the event is kept, not consumed"
