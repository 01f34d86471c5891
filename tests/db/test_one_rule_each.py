"""Rules that more than one path applies give the same answer whichever path meets the goal first: what
follows a child's end that decides its parent, and a lost attempt of a continuation."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from goals import api
from goals.families.children import WaitForChildren, spawn_children
from goals.lifecycle.fan_in import FAIL_FAST, WAIT_FOR_ALL
from goals.lifecycle.states import START, GoalState
from goals.lifecycle.transitions import apply_transition
from goals.models import AttemptOutcome, Cause, Finding, Goal, GoalEvent
from goals.reconciler.passes import run_pass
from goals.tokens import api_token_create
from goals.worker import callbacks
from tests.executors import purge_unconsumed
from tests.factories import make_goal

pytestmark = pytest.mark.django_db


def waiting_parent_of_two_running_children(*, then: str, policy=WAIT_FOR_ALL, owner: User | None = None
                                            ) -> tuple[Goal, list]:
    parent = make_goal(state=GoalState.RUNNING, kind="tests.count", owner=owner)
    children = spawn_children(parent_id=parent.id, attempt=1, kind="tests.noop", params_list=[{}, {}],
                              keys=["a", "b"], deadline=None, actor="worker-1")
    callbacks.attempt_waiting(goal_id=str(parent.id), attempt=1, task_id=parent.task_id, worker="worker-1",
                              wait=WaitForChildren(policy=policy, then=then), budget=2)
    for child in children:
        apply_transition(START, goal_id=child, attempt=1, cause=Cause.EXECUTOR, actor="worker-1")
    return parent, children


def cancel_from_python(child, owner):
    api.cancel(child, actor=owner, reason="not needed")


def cancel_over_http(child, owner):
    _, key = api_token_create(user=owner, name="tests")
    client = Client(headers={"Authorization": f"Token {key}"})
    assert client.post(f"/api/goals/{child}/cancel", {"reason": "not needed"},
                       content_type="application/json").status_code == 200


def cancel_in_the_admin(child, owner):
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="pw"))
    assert client.post(f"/admin/goals/goal/{child}/review/cancel/", {"reason": "not needed"}).status_code == 302


@pytest.mark.parametrize("cancel", [cancel_from_python, cancel_over_http, cancel_in_the_admin])
def test_a_persons_cancel_of_a_child_that_decides_its_parent_sends_the_parent_on_at_once(
        cancel, settings, django_capture_on_commit_callbacks):
    """The parent waits for all and its continuation decides: the cancel of its last active child sends it."""
    settings.GOALS_SEND_IN_BACKGROUND = False
    purge_unconsumed()
    owner = User.objects.create_user("alice", password="pw")
    parent, (child, sibling) = waiting_parent_of_two_running_children(then="tests.unconsumed", owner=owner)
    succeed(sibling)
    with django_capture_on_commit_callbacks(execute=True):
        cancel(child, owner)
    parent.refresh_from_db()
    assert (parent.state, parent.attempt) == (GoalState.QUEUED, 2), "the continuation's attempt is sent at once"
    assert GoalEvent.objects.filter(goal=parent, transition="enqueue", attempt=2).exists()
    assert purge_unconsumed() == 1, "published once, on the continuation's queue"


@pytest.mark.parametrize("cancel", [cancel_from_python, cancel_over_http, cancel_in_the_admin])
def test_a_persons_cancel_of_a_child_fails_its_fail_fast_parent_at_once_and_cancels_the_sibling(
        cancel, settings, django_capture_on_commit_callbacks):
    """Fail-fast: a continuation runs only if the failures are tolerated, so the parent needs no worker."""
    settings.GOALS_SEND_IN_BACKGROUND = False
    purge_unconsumed()
    owner = User.objects.create_user("alice", password="pw")
    parent, (child, sibling) = waiting_parent_of_two_running_children(then="tests.unconsumed", policy=FAIL_FAST,
                                                                      owner=owner)
    with django_capture_on_commit_callbacks(execute=True):
        cancel(child, owner)
    parent.refresh_from_db()
    assert (parent.state, parent.error["type"]) == (GoalState.FAILED, "goals.exceptions.ChildrenFailed")
    assert Goal.objects.get(pk=sibling).state == GoalState.CANCELLED
    assert purge_unconsumed() == 0, "nothing sent"


def succeed(child_id) -> None:
    callbacks.attempt_succeeded(goal_id=str(child_id), attempt=1, task_id=Goal.objects.get(pk=child_id).task_id,
                                worker="worker-1", result=None, progress=None, result_row=None)


def running_continuation(*, continuation: str, attempt: int = 2, max_attempts: int = 3) -> Goal:
    """A parent whose children fanned it in, running its continuation ``continuation`` at ``attempt``;
    its own kind (``tests.sleeper``) is idempotent and runs on the default queue."""
    return make_goal(state=GoalState.RUNNING, kind="tests.sleeper", attempt=attempt, max_attempts=max_attempts,
                     continuation=continuation, fan_ins=1)


def assert_failed_and_flagged(goal: Goal) -> None:
    goal.refresh_from_db()
    assert (goal.state, goal.attempt, goal.needs_review) == (GoalState.FAILED, 2, True)
    assert "not idempotent" in goal.review_reason
    assert goal.attempts.get(number=2).outcome == AttemptOutcome.WORKER_LOST
    assert not goal.attempts.filter(number=3).exists(), "never run again"


def test_a_lost_non_idempotent_continuation_found_by_its_redelivered_message_is_failed_and_flagged():
    goal = running_continuation(continuation="tests.sleeper_once")
    started = callbacks.attempt_started(goal_id=str(goal.id), attempt=2, task_id=goal.task_id, worker="worker-2",
                                        redelivered=True)
    assert started is None
    assert_failed_and_flagged(goal)


def test_a_lost_non_idempotent_continuation_found_by_the_reconciler_is_failed_and_flagged():
    goal = running_continuation(continuation="tests.sleeper_once")
    Goal.objects.filter(pk=goal.pk).update(heartbeat_at=goal.heartbeat_at.replace(year=2000))
    run_pass(only=[Finding.STALLED])
    assert_failed_and_flagged(goal)


def test_a_lost_continuation_sent_again_goes_to_the_continuations_queue(settings,
                                                                        django_capture_on_commit_callbacks):
    settings.GOALS_SEND_IN_BACKGROUND = False
    purge_unconsumed()
    goal = running_continuation(continuation="tests.unconsumed")
    with django_capture_on_commit_callbacks(execute=True):
        callbacks.attempt_started(goal_id=str(goal.id), attempt=2, task_id=goal.task_id, worker="worker-2",
                                  redelivered=True)
    goal.refresh_from_db()
    assert (goal.state, goal.attempt) == (GoalState.QUEUED, 3)
    assert purge_unconsumed() == 1, "sent again with the continuation's queue"
