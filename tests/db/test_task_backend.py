"""goaltrack as Django's task backend (``goals.tasking``), against Django's contract for backends: what
``enqueue`` commits and sends, what it refuses, and ``get_result`` (real PostgreSQL, no worker: see
tests/worker/test_task_backend.py for runs)."""

from __future__ import annotations

import datetime as dt

import pytest
from asgiref.sync import async_to_sync
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from goals.api import cancel
from goals.checks.settings import check_goal_settings
from goals.conf import goal_settings
from goals.executors.registry import get_executor
from goals.lifecycle.states import GoalState
from goals.models import Attempt, Goal, GoalEvent
from goals.tasking.compat import (
    InvalidTask,
    TaskResultDoesNotExist,
    TaskResultStatus,
    task,
    task_backends,
    task_enqueued,
)
from goals.tasking.results import STATUS_OF_STATE
from tests.factories import make_goal
from tests.task_functions import add, build_report, fails_twice


def _nothing_written():
    return (Goal.objects.count(), Attempt.objects.count(), GoalEvent.objects.count()) == (0, 0, 0)


def test_the_backend_says_what_it_supports():
    backend = task_backends["default"]
    assert (backend.supports_defer, backend.supports_async_task, backend.supports_get_result,
            backend.supports_priority) == (True, True, True, False)


@pytest.mark.django_db
def test_enqueue_commits_the_goal_in_one_statement_and_sends_it_after_commit(django_assert_num_queries,
                                                                            django_capture_on_commit_callbacks):
    seen = []
    task_enqueued.connect(receiver := lambda sender, task_result, **kw: seen.append(task_result.id), weak=False)
    try:
        with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(1):
            result = add.enqueue(2, b=(3, 4))
    finally:
        task_enqueued.disconnect(receiver)
    assert len(callbacks) == 1, "the task is sent on commit, not before"
    goal = Goal.objects.get()
    assert result.id == str(goal.pk)
    assert (goal.kind, goal.state, goal.max_attempts) == ("tasks.default", GoalState.PENDING, 3)
    assert goal.params == {"task": "tests.task_functions.add", "args": [2], "kwargs": {"b": [3, 4]}}
    assert (result.status, result.args, result.kwargs, result.enqueued_at) == (
        TaskResultStatus.READY, [2], {"b": [3, 4]}, goal.created_at)
    assert (result.errors, result.worker_ids, result.is_finished, result.backend) == ([], [], False, "default")
    assert seen == [result.id], "task_enqueued is sent once, with the result"
    with pytest.raises(ValueError, match="not finished"):
        _ = result.return_value


@pytest.mark.django_db
def test_enqueue_in_a_transaction_rolled_back_leaves_nothing_and_sends_nothing(django_capture_on_commit_callbacks):
    def enqueue_then_fail():
        with transaction.atomic():
            add.enqueue(1, 2)
            raise RuntimeError("the caller's work failed")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        enqueue_then_fail()
    assert _nothing_written()
    assert callbacks == []


def _local_task():
    def not_at_module_level():
        return None
    return task(not_at_module_level)


BAD_INPUT = [
    ("arguments must be JSON", lambda: add.enqueue({1, 2}, 3)),
    ("arguments must be JSON", lambda: add.enqueue(float("nan"), 3)),
    ("aware datetime", lambda: add.using(run_after=dt.datetime(2030, 1, 1)).enqueue(1, 2)),
    ("Queue 'nope' is not valid", lambda: add.using(queue_name="nope").enqueue(1, 2)),
    ("does not support setting priority", lambda: add.using(priority=5).enqueue(1, 2)),
    ("does not support setting priority", lambda: add.using(priority=1000).enqueue(1, 2)),
    ("module level", _local_task),
    ("params", lambda: add.enqueue("x" * 70_000, "y")),  # over GOALS_MAX_PARAMS_BYTES
]


@pytest.mark.django_db
@pytest.mark.parametrize(("said", "call"), BAD_INPUT)
def test_bad_input_is_djangos_invalid_task_naming_the_problem_and_writes_nothing(said, call,
                                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(InvalidTask, match=said):
        call()
    assert _nothing_written()
    assert callbacks == []


@pytest.mark.django_db
def test_run_after_starts_it_later_and_a_queue_is_its_own_kind_and_celery_queue():
    later = timezone.now() + dt.timedelta(hours=1)
    result = add.using(run_after=later).enqueue(1, 2)
    goal = Goal.objects.get(pk=result.id)
    assert (goal.state, goal.run_after, result.status) == (GoalState.SCHEDULED, later, TaskResultStatus.READY)
    report = build_report.enqueue("2026-11")
    assert Goal.objects.get(pk=report.id).kind == "tasks.reports"
    assert get_executor("tasks.reports").queue == "reports", "a queue of its own name"
    assert get_executor("tasks.default").queue == goal_settings().task_queue, "Django's default: GOALS_TASK_QUEUE"


@pytest.mark.django_db
def test_get_result_raises_task_result_does_not_exist_for_an_id_that_is_no_tasks_goal():
    other = make_goal(kind="tests.noop")
    backend = task_backends["default"]
    for result_id in ("not-a-uuid", "0" * 32, str(other.pk)):
        with pytest.raises(TaskResultDoesNotExist):
            backend.get_result(result_id)


@pytest.mark.django_db
def test_task_get_result_refuses_another_tasks_result():
    result = add.enqueue(1, 2)
    assert add.get_result(result.id).id == result.id
    with pytest.raises(Exception, match="Task does not match") as refused:
        fails_twice.get_result(result.id)
    assert type(refused.value).__name__ == "TaskResultMismatch"


@pytest.mark.django_db(transaction=True)
def test_async_enqueue_and_get_result():
    # Committed (a worker of the session may be running): started later, so it stays READY while read.
    result = async_to_sync(add.using(run_after=timezone.now() + dt.timedelta(hours=1)).aenqueue)(1, 2)
    assert Goal.objects.get(pk=result.id).params["args"] == [1, 2]
    assert async_to_sync(add.aget_result)(result.id).status == TaskResultStatus.READY


def test_every_goal_state_has_a_task_status():
    assert set(STATUS_OF_STATE) == set(GoalState)
    assert {state for state, status in STATUS_OF_STATE.items() if status == TaskResultStatus.FAILED} == {
        GoalState.FAILED, GoalState.CANCELLED, GoalState.EXPIRED}


@pytest.mark.django_db
@pytest.mark.parametrize("state", list(GoalState))
def test_a_goal_reads_as_the_status_its_state_maps_to(state):
    goal = make_goal(kind="tasks.default", state=state, params={"task": "tests.task_functions.add", "args": [1, 2],
                                                                "kwargs": {}}, result=3)
    result = task_backends["default"].get_result(str(goal.pk))
    assert result.status == STATUS_OF_STATE[state]
    assert result.is_finished == (state in {GoalState.SUCCEEDED, GoalState.FAILED, GoalState.CANCELLED,
                                            GoalState.EXPIRED})
    if state == GoalState.SUCCEEDED:
        assert result.return_value == 3
    assert result.finished_at == goal.finished_at


@pytest.mark.django_db
def test_a_cancelled_task_is_failed_and_refresh_reads_it(django_capture_on_commit_callbacks):
    result = add.using(run_after=timezone.now() + dt.timedelta(hours=1)).enqueue(1, 2)
    cancel(result.id, reason="not wanted")
    assert result.status == TaskResultStatus.READY
    result.refresh()
    assert (result.status, result.is_finished) == (TaskResultStatus.FAILED, True)
    with pytest.raises(ValueError, match="failed"):
        _ = result.return_value


@pytest.mark.django_db
def test_a_misconfigured_backend_fails_the_system_check():
    bad = {"default": {"BACKEND": "goals.tasking.GoalTaskBackend", "QUEUES": ["ok", "High-Priority"],
                       "OPTIONS": {"max_attempt": 3}},
           "other": {"BACKEND": "goals.tasking.GoalTaskBackend", "QUEUES": []}}
    with override_settings(TASKS=bad):
        messages = [message for message in check_goal_settings(None) if message.id == "goals.E040"]
    said = " ".join(message.msg for message in messages)
    assert len(messages) == 3, said
    assert "'High-Priority'" in said
    assert "'max_attempt'" in said
    assert "cannot be empty" in said
    assert check_goal_settings(None) == [], "the suite's own TASKS is fine"
