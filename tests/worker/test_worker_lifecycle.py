"""End to end with the real worker: goals run, report progress, retry, fail and survive a killed child."""

from __future__ import annotations

import os
import signal
import time

import pytest

from goals.api import cancel, submit
from goals.lifecycle.states import GoalState
from goals.models import AttemptOutcome, EventType
from tests.conftest import final_task_results, wait_final, wait_for

pytestmark = pytest.mark.worker


def transitions(goal) -> list[tuple[str, str, str, int]]:
    return [(e.transition, e.from_state, e.to_state, e.attempt)
            for e in goal.events.filter(event=EventType.TRANSITION).order_by("id")]


def test_goal_with_progress_succeeds_with_result_and_complete_journal(worker):
    goal = submit("tests.count", {"to": 10, "delay": 0.05})
    seen_progress = wait_for(goal.id, lambda g: 0 < g.progress_current < 10, worker=worker)
    assert seen_progress.state == GoalState.RUNNING
    assert seen_progress.progress_total == 10

    goal = wait_final(goal.id, worker=worker)
    assert goal.state == GoalState.SUCCEEDED
    assert goal.result == {"counted": 10}
    assert (goal.progress_current, goal.progress_total, goal.progress_message) == (10, 10, "step 10")
    assert goal.started_at <= goal.finished_at
    # queued_at stays empty when the worker started the attempt before the publisher recorded "queued".
    assert goal.queued_at is None or goal.queued_at <= goal.started_at
    assert (goal.queued_at is None) == (("enqueue", "pending", "queued", 1) not in transitions(goal))
    assert transitions(goal) in (
        [("submit", "", "pending", 1), ("enqueue", "pending", "queued", 1), ("start", "queued", "running", 1),
         ("succeed", "running", "succeeded", 1)],
        # The worker may start the attempt before the publisher records "queued".
        [("submit", "", "pending", 1), ("start", "pending", "running", 1), ("succeed", "running", "succeeded", 1)],
    )
    [attempt] = goal.attempts.all()
    assert (attempt.number, attempt.task_id, attempt.outcome) == (1, goal.task_id, AttemptOutcome.SUCCEEDED)
    assert attempt.worker.startswith("test-")


def test_failing_executor_retries_with_backoff_then_fails_with_error(worker):
    goal = submit("tests.always_fails", {"marker": "m1"})
    goal = wait_final(goal.id, worker=worker)

    assert goal.state == GoalState.FAILED
    assert goal.attempt == 3
    assert goal.error["type"] == "tests.executors.Boom"
    assert goal.error["message"] == "planned failure m1 on attempt 3"
    assert "raise Boom" in goal.error["traceback"]
    attempts = list(goal.attempts.order_by("number"))
    assert [a.outcome for a in attempts] == [AttemptOutcome.FAILED] * 3
    assert len({a.task_id for a in attempts}) == 3, "each attempt is its own Celery task"
    assert [a.error["message"] for a in attempts] == [f"planned failure m1 on attempt {n}" for n in (1, 2, 3)]
    retries = goal.events.filter(transition="schedule_retry").order_by("id")
    assert [e.details["countdown"] >= 1.0 for e in retries] == [True, True]
    # The back-off is honoured: attempt n+1 starts about its countdown after attempt n ended. The
    # countdown runs from the retry publish, which precedes the on_retry write that stamps finished_at,
    # hence the slack; every countdown is at least 1 s, so a missing back-off still fails this.
    for previous, following, event in zip(attempts, attempts[1:], retries, strict=False):
        gap = (following.started_at - previous.finished_at).total_seconds()
        assert gap >= event.details["countdown"] - 0.5


def test_result_that_is_not_json_fails_the_goal_clearly(worker):
    goal = wait_final(submit("tests.not_json").id, worker=worker)
    assert goal.state == GoalState.FAILED
    assert goal.error["type"] == "goals.exceptions.ResultNotSerializable"
    assert "not JSON" in goal.error["message"]
    assert goal.attempt == 1, "a result that cannot be stored is not retried"


@pytest.mark.parametrize(("kind", "expected"), [
    ("tests.sleeper", "redelivered"),
    ("tests.sleeper_once", "the executor is not idempotent, so it is not run again"),
    ("tests.sleeper_single_attempt", "no attempt left of 1"),
])
def test_sigkill_of_the_pool_child_mid_task(worker, kind, expected):
    """Promise: the redelivered message of a killed attempt starts the next attempt (idempotent
    executors with attempts left) or fails the goal and flags it for review, as the reconciler would
    (non-idempotent executors, or no attempt left); the goal never stays running."""
    goal = submit(kind, {"seconds": 60})
    running = wait_for(goal.id, lambda g: g.progress_message.startswith("pid="), worker=worker)
    child = int(running.progress_message.removeprefix("pid="))
    assert child in worker.children()
    os.kill(child, signal.SIGKILL)

    goal = wait_final(goal.id, timeout=60, worker=worker)
    first = goal.attempts.get(number=1)
    assert first.outcome == AttemptOutcome.WORKER_LOST
    if expected == "redelivered":
        assert goal.state == GoalState.SUCCEEDED
        assert goal.attempt == 2
        assert goal.result == {"attempt": 2}
        assert goal.events.filter(transition="redispatch", cause="executor", to_state="pending").exists()
        assert not goal.needs_review
        # The killed attempt's task id (no row: its worker died) follows the goal to its success.
        assert [r.result for r in final_task_results(goal).values()] == [{"attempt": 2}] * 2
    else:
        assert goal.state == GoalState.FAILED
        assert goal.attempt == 1
        assert goal.error["type"] == "WorkerLost"
        assert goal.error["message"].endswith(expected)
        assert goal.needs_review, "failed for a lost worker: flagged for review, whoever failed it"
        assert goal.review_reason == f"worker_lost: {expected}"
        assert goal.events.filter(event="flagged", cause="executor", attempt=1).count() == 1
        [result] = final_task_results(goal).values()
        assert (result.status, type(result.result).__name__) == ("FAILURE", "WorkerLost")


def test_an_attempt_killed_at_its_hard_time_limit_fails_its_goal_at_once(worker):
    """The worker's main process fails the goal when the pool kills the attempt (Celery 5.7 calls on_failure
    there, earlier releases do not: goals.worker.request); no reconciler runs here."""
    goal = wait_final(submit("tests.ignores_time_limit").id, timeout=40, worker=worker)
    assert (goal.state, goal.error["type"]) == (GoalState.FAILED, "billiard.exceptions.TimeLimitExceeded")
    assert goal.events.get(transition="fail").cause == "executor"
    [result] = final_task_results(goal).values()
    assert (result.status, type(result.result).__name__) == ("FAILURE", "TimeLimitExceeded")


def test_a_goal_cancelled_while_running_stops_its_executor_quietly_and_logs_once(worker):
    """Cancelling is not a failure: no ERROR and no traceback in the worker's log, no failure hook run (so no
    refused "fail" in the journal), and goaltrack's line printed once, not by two handlers."""
    goal = submit("tests.count", {"to": 400, "delay": 0.05})
    wait_for(goal.id, lambda g: g.progress_current > 0, worker=worker)
    cancel(goal.id, actor="ops", reason="not needed")
    stopped = f"goal {goal.id} attempt 1 stopped"
    deadline = time.monotonic() + 20
    while stopped not in worker.log_path.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = worker.log_path.read_text()
    assert log.count(stopped) == 1, worker.tail()
    task_lines = [line for line in log.splitlines() if goal.task_id in line]
    assert task_lines
    assert not [line for line in task_lines if "ERROR" in line or "Traceback" in line], task_lines
    assert "ignored" in task_lines[-1], task_lines
    goal = wait_final(goal.id, worker=worker)
    assert goal.state == GoalState.CANCELLED
    assert not goal.events.filter(event=EventType.IGNORED, transition="fail").exists()
