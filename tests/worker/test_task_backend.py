"""Django's ``@task`` functions run by a real Celery worker through goaltrack's backend (``goals.tasking``):
what a caller reads back with ``get_result``/``refresh``, from another process than the one that ran them."""

from __future__ import annotations

import json
import os

import pytest

from goals.models import Goal
from goals.tasking.compat import TaskResultStatus
from tests.conftest import wait_final
from tests.task_functions import add, add_later, always_fails, fails_twice, returns_tuple

pytestmark = pytest.mark.worker


def _finished(result, worker):
    wait_final(result.id, worker=worker)
    result.refresh()
    return result


def test_a_task_runs_and_its_result_is_read_back(worker):
    result = add.enqueue(2, 3)
    assert result.status == TaskResultStatus.READY
    _finished(result, worker)
    assert (result.status, result.return_value, result.is_finished) == (TaskResultStatus.SUCCESSFUL, 5, True)
    assert len(result.worker_ids) == 1, "one worker id per attempt"
    assert result.worker_ids[0]
    assert result.enqueued_at <= result.started_at == result.last_attempted_at <= result.finished_at
    assert result.errors == []
    again = add.get_result(result.id)
    assert (again.status, again.return_value) == (TaskResultStatus.SUCCESSFUL, 5)


def test_a_task_that_fails_twice_succeeds_on_its_third_attempt_with_each_error(worker):
    result = fails_twice.enqueue("third time")
    _finished(result, worker)
    goal = Goal.objects.get(pk=result.id)
    assert (goal.state, goal.attempt) == ("succeeded", 3)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"attempt": 3, "id": result.id, "status": "RUNNING", "workers": 3}, (
        "context.attempt is the goal's attempt, context.task_result the goal as it runs")
    assert [error.exception_class_path for error in result.errors] == ["tests.task_functions.Planned"] * 2
    assert "planned failure on attempt 1" in result.errors[0].traceback
    assert "planned failure on attempt 2" in result.errors[1].traceback
    assert result.errors[0].exception_class.__name__ == "Planned"
    assert len(result.worker_ids) == 3
    assert result.attempts == 3
    assert result.started_at < result.last_attempted_at


def test_a_task_that_always_fails_is_failed_after_its_attempts(worker):
    result = always_fails.enqueue()
    _finished(result, worker)
    assert (result.status, result.is_finished, len(result.errors)) == (TaskResultStatus.FAILED, True, 3)
    with pytest.raises(ValueError, match="failed"):
        _ = result.return_value


def test_a_coroutine_task_and_a_tuple_return_value(worker):
    later, pair = add_later.enqueue(1, 2), returns_tuple.enqueue()
    assert _finished(later, worker).return_value == 3
    assert _finished(pair, worker).return_value == [1, 2], "normalised to JSON, as Django's backends do"


def test_djangos_task_signals_fire_started_per_attempt_and_finished_once(worker):
    path = os.environ["GOALS_TEST_TASK_SIGNALS"]
    result = fails_twice.enqueue("signals")
    _finished(result, worker)
    with open(path) as log:
        said = [(line["signal"], line["status"], line["pid"] == os.getpid())
                for line in map(json.loads, log) if line["id"] == result.id]
    assert said == [("enqueued", "READY", True), ("started", "RUNNING", False), ("started", "RUNNING", False),
                    ("started", "RUNNING", False), ("finished", "SUCCESSFUL", False)]
