"""Submitting goals: validation, idempotency, dispatch on commit, query counts (real PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from goals.api import GoalValidationError, cancel, retry, submit
from goals.exceptions import GoalNoLongerRunning, TransitionNotAllowed
from goals.lifecycle.states import GoalState
from goals.models import Attempt, Goal, GoalEvent
from goals.worker.context import ExecutionContext
from tests.factories import make_goal

BAD_INPUT = [
    ("kind", dict(kind="tests.nope", params={})),
    ("kind", dict(kind=42, params={})),
    ("params", dict(kind="tests.typed", params=["not", "an", "object"])),
    ("params", dict(kind="tests.typed", params={"size": 2})),  # missing required "name"
    ("params", dict(kind="tests.typed", params={"name": "x", "colour": "red"})),  # unexpected keyword
    ("params", dict(kind="tests.typed", params={"name": {1, 2}})),  # not JSON
    ("params", dict(kind="tests.typed", params={"name": float("nan")})),  # not JSON either
    ("params", dict(kind="tests.typed", params={"name": "x" * 70_000})),  # over GOALS_MAX_PARAMS_BYTES
    ("idempotency_key", dict(kind="tests.typed", params={"name": "x"}, idempotency_key="")),
    ("deadline", dict(kind="tests.typed", params={"name": "x"}, deadline=dt.datetime(2030, 1, 1))),  # naive
]


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "call"), BAD_INPUT)
def test_bad_input_is_refused_naming_the_problem_and_writes_nothing(field, call, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(GoalValidationError) as refused:
        submit(**call)
    assert field in refused.value.message_dict
    assert (Goal.objects.count(), Attempt.objects.count(), GoalEvent.objects.count(), len(callbacks)) == (0, 0, 0, 0)


@pytest.mark.django_db
def test_submit_is_one_statement_and_dispatches_only_after_commit(django_assert_num_queries,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(1):
        goal = submit("tests.typed", {"name": "a"})
    assert len(callbacks) == 1, "the task is sent on commit, not before"
    assert (goal.state, goal.attempt, goal.max_attempts, goal.params) == (GoalState.PENDING, 1, 1, {"name": "a"})
    assert goal.attempts.get().task_id == goal.task_id
    assert list(goal.events.values_list("transition", "to_state", "cause")) == [("submit", "pending", "api")]


@pytest.mark.django_db
def test_same_idempotency_key_returns_the_existing_goal_and_sends_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = submit("tests.typed", {"name": "a"}, idempotency_key="order-1")
        again = submit("tests.typed", {"name": "a"}, idempotency_key="order-1")
        other_kind = submit("tests.count", {"to": 1}, idempotency_key="order-1")
    assert again.pk == first.pk
    assert other_kind.pk != first.pk, "keys are scoped by kind"
    assert len(callbacks) == 2
    with pytest.raises(GoalValidationError) as refused:
        submit("tests.typed", {"name": "b"}, idempotency_key="order-1")
    assert "different params" in str(refused.value)
    assert Goal.objects.count() == 2


@pytest.mark.django_db
def test_cancel_and_retry_through_the_transitions(django_capture_on_commit_callbacks):
    goal = make_goal(state=GoalState.RUNNING, kind="tests.typed")
    cancelled = cancel(goal.id, actor="ops", reason="customer asked")
    assert cancelled.state == GoalState.CANCELLED
    assert goal.events.latest("id").details == {"reason": "customer asked"}
    with pytest.raises(TransitionNotAllowed):
        cancel(goal.id)
    with django_capture_on_commit_callbacks() as callbacks:
        retried = retry(goal.id, actor="ops")
    assert (retried.state, retried.attempt, retried.finished_at, len(callbacks)) == (GoalState.PENDING, 2, None, 1)
    done = make_goal(state=GoalState.SUCCEEDED)
    with pytest.raises(TransitionNotAllowed):
        retry(done.id)


@pytest.mark.django_db
def test_progress_is_throttled_and_stops_a_cancelled_attempt(django_assert_num_queries):
    goal = make_goal(state=GoalState.RUNNING)
    throttled = ExecutionContext(goal_id=goal.id, attempt=1, kind=goal.kind, interval=3600)
    with django_assert_num_queries(0):
        for i in range(100):
            throttled.progress(i, 100)
    assert throttled.progress_values == (99, 100, "")
    eager = ExecutionContext(goal_id=goal.id, attempt=1, kind=goal.kind, interval=0)
    with django_assert_num_queries(3):
        for i in range(3):
            eager.progress(i, 3, "working")
    assert Goal.objects.values_list("progress_current", "progress_message").get(pk=goal.pk) == (2, "working")
    cancel(goal.id)
    with pytest.raises(GoalNoLongerRunning):
        eager.progress(3, 3)


@pytest.mark.worker
def test_goal_cancelled_before_it_starts_never_runs(worker):
    from tests.conftest import wait_for

    with transaction.atomic():
        goal = submit("tests.count", {"to": 3})
        cancel(goal.id, reason="changed my mind")
    # The message is still delivered; the fence refuses it and the executor never runs.
    wait_for(goal.id, lambda g: g.events.filter(event="ignored", transition="start").exists(), worker=worker)
    goal.refresh_from_db()
    assert (goal.state, goal.started_at, goal.progress_current) == (GoalState.CANCELLED, None, 0)
    assert not goal.events.filter(event="transition", transition="start").exists()


@pytest.mark.worker
def test_a_goal_submitted_to_start_soon_is_released_by_its_timer_with_no_beat_and_not_before(worker):
    from tests.conftest import wait_final

    goal = submit("tests.noop", countdown=1.5)
    assert Goal.objects.get(pk=goal.pk).state == GoalState.SCHEDULED
    # No beat runs here: the timer the submit set (a goals.release message with an ETA) releases it.
    done = wait_final(goal.pk, worker=worker)
    assert (done.state, done.attempt, done.run_after) == (GoalState.SUCCEEDED, 1, None)
    # The publisher's "enqueue" may come before the worker's start or after it (then refused): not pinned.
    moves = [e.transition for e in done.events.filter(event="transition").exclude(transition="enqueue").order_by("id")]
    assert moves == ["submit", "release", "start", "succeed"]
    assert done.started_at >= goal.run_after, "never before its time"
    released = done.events.get(transition="release")
    assert released.created_at >= goal.run_after
    assert released.cause == "publisher"


@pytest.mark.worker
def test_a_long_back_off_waits_in_the_database_and_the_attempt_runs_when_its_time_is_moved_up(worker):
    """An hour's back-off is no delayed message in a worker's memory: the next attempt waits as scheduled,
    and runs once a person starts it now."""
    from goals.api import reschedule
    from tests.conftest import wait_final, wait_for

    goal = submit("tests.fails_once_then_waits")
    waiting = wait_for(goal.pk, lambda g: g.state == GoalState.SCHEDULED, worker=worker)
    assert waiting.attempt == 2
    assert 3590 < (waiting.run_after - waiting.attempts.get(number=1).finished_at).total_seconds() <= 3600
    reschedule(goal.pk, countdown=0, reason="the supplier is back")
    done = wait_final(goal.pk, worker=worker)
    assert (done.state, done.attempt, done.result) == (GoalState.SUCCEEDED, 2, {"attempt": 2})
    moves = [e.transition for e in done.events.filter(event="transition").exclude(transition="enqueue").order_by("id")]
    assert moves == ["submit", "start", "retry_later", "reschedule", "release", "start", "succeed"]
