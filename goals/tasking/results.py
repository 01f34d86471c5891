"""A goal read as Django's ``TaskResult``: the one mapping of goal states to task statuses, errors, workers
and times.

Django knows four statuses; a goal has eleven states. Every state that will run the task (again) is
``READY``: scheduled (a ``run_after`` to come), pending, queued, retrying (a failed attempt with another to
come), held by a limit of its kind, and waiting (handed back control until its children end or an event
comes). ``RUNNING`` is running; ``SUCCESSFUL`` succeeded. ``FAILED`` is failed, and also cancelled and
expired, the two ends Django has no twin for: the task did not run to success and never will.
"""

from __future__ import annotations

import builtins
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models.expressions import RawSQL
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string

from goals.lifecycle.states import FINAL_STATES, GoalState
from goals.models import Goal
from goals.tasking.compat import Task, TaskError, TaskResult, TaskResultDoesNotExist, TaskResultStatus
from goals.tasking.kinds import TaskKind, task_kind

STATUS_OF_STATE: dict[str, TaskResultStatus] = {
    GoalState.SCHEDULED: TaskResultStatus.READY,
    GoalState.PENDING: TaskResultStatus.READY,
    GoalState.QUEUED: TaskResultStatus.READY,
    GoalState.RETRYING: TaskResultStatus.READY,
    GoalState.HELD: TaskResultStatus.READY,
    GoalState.WAITING: TaskResultStatus.READY,
    GoalState.RUNNING: TaskResultStatus.RUNNING,
    GoalState.SUCCEEDED: TaskResultStatus.SUCCESSFUL,
    GoalState.FAILED: TaskResultStatus.FAILED,
    GoalState.CANCELLED: TaskResultStatus.FAILED,
    GoalState.EXPIRED: TaskResultStatus.FAILED,
}


def task_params(task: Task, args: list, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The params of the goal that runs ``task``: what ``goals.tasking.running.run_task`` takes."""
    return {"task": task.module_path, "args": args, "kwargs": kwargs}


def enqueued_result(goal: Goal, task: Task, alias: str) -> TaskResult:
    """The result of a goal just submitted, from what the submit knows: no read."""
    return TaskResult(task=task, id=str(goal.pk), status=STATUS_OF_STATE[goal.state], enqueued_at=goal.created_at,
                      started_at=None, finished_at=None, last_attempted_at=None, args=goal.params["args"],
                      kwargs=goal.params["kwargs"], backend=alias, errors=[], worker_ids=[])


# A goal's attempts as one JSON array of [number, worker, started_at, error], read with the goal: one query. As
# text, parsed here: what the driver makes of a json column depends on how the project configured it.
ATTEMPTS_OF_GOAL = """(SELECT coalesce(json_agg(json_build_array(a.number, a.worker, a.started_at, a.error)
                                    ORDER BY a.number), '[]')::text
      FROM goals_attempt a WHERE a.goal_id = goals_goal.id)"""


def read_result(result_id: Any, kinds: dict[str, TaskKind]) -> TaskResult:
    """The result of the goal ``result_id`` of one of ``kinds`` (by queue), read in one query; raises
    ``TaskResultDoesNotExist`` for an id that is no such goal's."""
    try:
        goal_id = UUID(str(result_id))
    except ValueError:
        raise TaskResultDoesNotExist(f"{result_id!r} is not a task result id (a goal id, a UUID)") from None
    goal = (Goal.objects.filter(pk=goal_id, kind__in=[spec.kind for spec in kinds.values()])
            .annotate(attempt_rows=RawSQL(ATTEMPTS_OF_GOAL, ())).first())
    if goal is None:
        raise TaskResultDoesNotExist(f"no task result {goal_id}: no goal of this backend has that id")
    attempts = [(number, worker, parse_datetime(started) if started else None, error)
                for number, worker, started, error in json.loads(goal.attempt_rows)]
    return goal_result(goal, attempts)


def goal_result(goal: Goal, attempts: list[tuple[int, str, datetime | None, dict | None]]) -> TaskResult:
    """``goal`` (a task's) as a ``TaskResult``, with its attempts as (number, worker, started_at, error).

    ``worker_ids`` has one entry per attempt up to the goal's, but for its current attempt until that starts:
    ``context.attempt`` (their count) is then the goal's attempt while it runs. ``errors`` has each failed
    attempt's error, and the goal's own if it ended on another (a deadline, a lost worker). The times are the
    goal's phases: enqueued at its submit, started at its first attempt's start, last attempted at its latest,
    finished when it became final.
    """
    spec = task_kind(goal.kind)
    if spec is None:
        raise TaskResultDoesNotExist(f"goal {goal.pk} is a goal of kind {goal.kind!r}, not a task's")
    try:
        task = import_string(goal.params["task"])
    except ImportError as exc:
        raise TaskResultDoesNotExist(f"goal {goal.pk} ran task {goal.params['task']!r}, which is gone: {exc}") from None
    if (task.queue_name, task.backend) != (spec.queue, spec.alias):
        task = task.using(queue_name=spec.queue, backend=spec.alias)
    started = [at for _number, _worker, at, _error in attempts if at is not None]
    errors = [error for _number, _worker, _at, error in attempts if error]
    if goal.error and goal.state != GoalState.SUCCEEDED and (not errors or errors[-1] != goal.error):
        errors.append(goal.error)
    result = TaskResult(
        task=task, id=str(goal.pk), status=STATUS_OF_STATE[goal.state], enqueued_at=goal.created_at,
        started_at=min(started, default=None), last_attempted_at=max(started, default=None),
        finished_at=goal.finished_at if goal.state in FINAL_STATES else None,
        args=goal.params["args"], kwargs=goal.params["kwargs"], backend=spec.alias,
        errors=[task_error(error) for error in errors],
        worker_ids=[worker for number, worker, at, _error in attempts if number < goal.attempt or at is not None])
    if goal.state == GoalState.SUCCEEDED:
        object.__setattr__(result, "_return_value", goal.result)  # frozen: as Django's own backends set it
    return result


def task_error(error: dict[str, Any]) -> TaskError:
    """A stored error as Django's ``TaskError``: a builtin's bare name gets its module, so
    ``exception_class`` imports it; the traceback ends with the message, as Python prints one."""
    name = error.get("type") or "Exception"
    if "." not in name and isinstance(getattr(builtins, name, None), type):
        name = f"builtins.{name}"
    text = error.get("traceback") or f"{error.get('type')}: {error.get('message', '')}\n"
    return TaskError(exception_class_path=name, traceback=text)
