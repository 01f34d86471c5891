"""The goal's final transition writes the task's django-celery-results row itself: the same row Celery
would have written, readable through AsyncResult, and never disagreeing with the goal."""

from __future__ import annotations

import json

import pytest
from celery import states
from celery.result import AsyncResult
from django_celery_results.models import TaskResult

from goals.api import submit
from goals.states import GoalState
from goals.tasks import execute_goal
from tests.conftest import wait_final

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


def test_failures_and_retries_are_stored_as_celery_would(worker):
    goal = wait_final(submit("tests.always_fails", {"marker": "rows"}).id, worker=worker)
    assert (goal.state, goal.attempt) == (GoalState.FAILED, 3)
    rows = {row.task_id: row for row in TaskResult.objects.filter(task_id__in=goal.attempts.values("task_id"))}
    attempts = list(goal.attempts.order_by("number"))
    assert [rows[a.task_id].status for a in attempts] == [states.RETRY, states.RETRY, states.FAILURE]
    last = rows[goal.task_id]
    assert "raise Boom" in last.traceback
    result = AsyncResult(goal.task_id, app=execute_goal.app)
    assert result.status == states.FAILURE
    assert "planned failure rows on attempt 3" in str(result.result)


def test_with_another_result_backend_celery_stores_results_itself(monkeypatch):
    from celery.backends.cache import CacheBackend

    from goals.results import result_row

    assert execute_goal.ignore_result, "django-db: the goal's transition writes the row"
    monkeypatch.setattr(execute_goal, "_backend", CacheBackend(app=execute_goal.app, backend="memory"))
    assert not execute_goal.ignore_result
    assert result_row(execute_goal, status=states.SUCCESS, value=1) is None
