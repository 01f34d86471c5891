"""The goal's final transition writes the task's django-celery-results row itself: the same row Celery
would have written, readable through AsyncResult, and never disagreeing with the goal."""

from __future__ import annotations

import json

import pytest
from celery import states
from celery.exceptions import TaskRevokedError
from celery.result import AsyncResult
from django_celery_results.models import TaskResult

from goals.api import submit
from goals.lifecycle.states import GoalState
from goals.models import Goal
from goals.submitting.people import goal_cancel
from goals.tasks import execute_goal
from tests.conftest import final_task_results, wait_final

pytestmark = pytest.mark.worker


def test_a_success_is_stored_with_the_goal_in_one_statement(worker):
    goal = wait_final(submit("tests.count", {"to": 3}).id, worker=worker)
    assert goal.state == GoalState.SUCCEEDED
    row = TaskResult.objects.get(task_id=goal.task_id)
    assert (row.status, row.task_name, row.content_type) == (states.SUCCESS, "goals.execute", "application/json")
    assert json.loads(row.result) == goal.result == {"counted": 3}
    assert row.worker.startswith("test-")
    # result_extended's columns, as django-celery-results fills them (the reconciler matches on these).
    assert json.loads(row.task_args) == repr((str(goal.id), 1))
    assert row.date_done >= goal.finished_at.replace(microsecond=0)
    result = AsyncResult(goal.task_id, app=execute_goal.app)
    assert (result.status, result.result) == (states.SUCCESS, {"counted": 3})
    [statement] = [s for s in worker.statements(goal.id) if "django_celery_results_taskresult" in s["sql"]]
    assert "UPDATE goals_goal" in statement["sql"], "written by the succeed transition, not on its own"


def test_every_attempts_task_id_ends_with_the_goals_failure(worker):
    """Promise: each attempt has its own task id, and each ends as a retried Celery task's one id would:
    a caller holding the first attempt's id is not left waiting on RETRY once the goal has failed."""
    goal = wait_final(submit("tests.always_fails", {"marker": "rows"}).id, worker=worker)
    assert (goal.state, goal.attempt) == (GoalState.FAILED, 3)
    results = final_task_results(goal)
    assert [r.status for r in results.values()] == [states.FAILURE] * 3
    for result in results.values():
        assert type(result.result).__name__ == "Boom"
        assert str(result.result) == "planned failure rows on attempt 3"
        with pytest.raises(Exception, match="planned failure rows on attempt 3"):
            result.get(timeout=1)
        assert "raise Boom" in result.traceback
    last = TaskResult.objects.get(task_id=goal.task_id)
    assert last.worker.startswith("test-"), "the current attempt's row is the worker's own, in full"


def test_the_first_task_id_of_a_goal_that_succeeded_on_retry_says_success(worker):
    goal = wait_final(submit("tests.fails_once").id, worker=worker)
    assert (goal.state, goal.attempt, goal.result) == (GoalState.SUCCEEDED, 2, {"attempt": 2})
    results = final_task_results(goal)
    assert [(r.status, r.result) for r in results.values()] == [(states.SUCCESS, {"attempt": 2})] * 2


def test_a_cancelled_goals_task_id_says_revoked(db):
    """Cancelled before any worker took it: the id a caller holds ends REVOKED, as Celery's revoke would."""
    goal = submit("tests.unconsumed")
    goal_cancel(goal_id=goal.id, reason="not needed")
    [result] = final_task_results(Goal.objects.get(pk=goal.id)).values()
    assert result.status == states.REVOKED
    with pytest.raises(TaskRevokedError, match="goal cancelled"):
        result.get(timeout=1)
    submit("tests.unconsumed")  # a goal still queued has no final row: its id stays PENDING, as Celery's
    assert TaskResult.objects.count() == 1


def test_with_another_result_backend_celery_stores_results_itself(monkeypatch):
    from celery.backends.cache import CacheBackend

    from goals.lifecycle.results import result_row

    assert execute_goal.ignore_result, "django-db: the goal's transition writes the row"
    monkeypatch.setattr(execute_goal, "_backend", CacheBackend(app=execute_goal.app, backend="memory"))
    assert not execute_goal.ignore_result
    assert result_row(execute_goal, status=states.SUCCESS, value=1) is None
