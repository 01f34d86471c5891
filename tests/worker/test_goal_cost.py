"""What one goal's life costs the database, counted on the real worker: submit to succeeded with 10
progress updates. Pinned, so a change that adds a round trip to the hot path shows up here."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from goals.api import submit
from goals.lifecycle.states import GoalState
from tests.conftest import wait_final

pytestmark = pytest.mark.worker


def transactions(statements: list[dict]) -> int:
    """Autocommit statements are one transaction each; an atomic block is one however many it runs."""
    count, previous = 0, object()
    for statement in statements:
        block = statement["transaction"]
        if block is None or block != previous:
            count += 1
        previous = block
    return count


@override_settings(GOALS_SEND_IN_BACKGROUND=False)  # publish and "queued" mark on this thread, so they are counted
def test_goal_life_statement_count(worker):
    with CaptureQueriesContext(connection) as submitted:
        goal = submit("tests.count", {"to": 10, "delay": 0.25})  # 0.25 s > the test interval: all 10 written
    goal = wait_final(goal.id, worker=worker)
    assert goal.state == GoalState.SUCCEEDED

    on_worker = worker.statements(goal.id)
    kinds = [classify(statement["sql"]) for statement in on_worker]
    # The succeed transition writes the django-celery-results row itself (goals.lifecycle.results).
    assert kinds == ["transition"] + ["progress"] * 10 + ["transition"], kinds
    assert on_worker[0]["sql"].startswith("-- goaltrack: start_attempt\n")
    assert on_worker[-1]["sql"].startswith("-- goaltrack: end_lone_attempt\n")  # no family parts
    assert "django_celery_results_taskresult" in on_worker[-1]["sql"]
    # submit (1 INSERT CTE) and enqueue (1 transition) on the submitting side.
    assert len(submitted) == 2
    assert len(on_worker) + len(submitted) == 14
    # Every statement commits on its own.
    assert transactions(on_worker) + len(submitted) == 14


def classify(sql: str) -> str:
    if sql.startswith(("-- goaltrack: start_attempt", "-- goaltrack: end_lone_attempt", "-- goaltrack: move_goals",
                       "-- goaltrack: mark_queued")):
        return "transition"
    if sql.startswith("-- goaltrack: report_progress"):
        return "progress"
    if "django_celery_results_taskresult" in sql:
        return "task result"
    return sql


def test_the_submitting_thread_runs_one_statement_and_the_sender_thread_the_rest(worker):
    with CaptureQueriesContext(connection) as submitted:
        goal = submit("tests.noop", {})
    assert len(submitted) == 1
    goal = wait_final(goal.id, worker=worker)
    assert goal.state == GoalState.SUCCEEDED
    started = goal.events.get(transition="start")
    # The sender thread recorded "queued", unless the worker started the goal first (then it was refused).
    enqueued = goal.events.filter(transition="enqueue", cause="publisher").exists()
    assert enqueued == (started.from_state == GoalState.QUEUED)


@override_settings(GOALS_SEND_IN_BACKGROUND=False)
def test_a_django_task_that_succeeds_at_once_costs_its_goal_alone(worker):
    """A ``@task`` through goaltrack's backend that succeeds on its first attempt: the goal's own statements,
    and no read for Django's ``task_started`` and ``task_finished`` (whose own receivers always listen): both
    are known from the start and the recorded success (``goals.tasking.running``)."""
    from tests.task_functions import add

    with CaptureQueriesContext(connection) as enqueued:
        result = add.enqueue(1, 2)
    goal = wait_final(result.id, worker=worker)
    assert goal.state == GoalState.SUCCEEDED
    kinds = [classify(statement["sql"]) for statement in worker.statements(goal.id)]
    assert kinds == ["transition", "transition"], kinds
    assert len(enqueued) == 2, "submit and the queued mark, as for any goal"
