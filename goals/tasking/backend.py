"""``GoalTaskBackend``: Django's task framework with goaltrack's goals as its store and Celery as its workers.

``task.enqueue(...)`` commits a goal in the caller's transaction (one statement) and sends it to a Celery
worker once that commits, as ``goals.api.submit`` does; ``get_result(id)`` reads the goal from any process.
The result id is the goal's id, so the admin, the live pages, the HTTP API and the reconciler's reports show a
task's goal like any other. How a goal's state reads as a task status: ``goals.tasking.results``.

What it supports (Django's feature flags):

- ``supports_defer``: ``run_after`` starts the goal later (it waits in the database, released when due);
- ``supports_async_task``: a coroutine function runs in the worker through ``async_to_sync``;
- ``supports_get_result``: from any process, and ``TaskResultDoesNotExist`` for an id that is no goal of it;
- ``supports_priority`` is False: Celery's brokers order messages by priority in different ways (Redis by a
  few separate lists, RabbitMQ per queue declared with a maximum, and neither across messages already
  prefetched), so a priority could not mean the same on each; a task given one is refused (``InvalidTask``).
"""

from __future__ import annotations

import json
from typing import Any

from goals.exceptions import GoalValidationError
from goals.models import Cause
from goals.submitting.submit import goal_submit
from goals.tasking import results
from goals.tasking.compat import (
    BaseTaskBackend,
    InvalidTask,
    InvalidTaskBackend,
    Task,
    TaskResult,
    normalize_json,
    task_enqueued,
)
from goals.tasking.kinds import kinds_of, problems, register


class GoalTaskBackend(BaseTaskBackend):
    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    supports_priority = False

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        found = problems(alias, params)
        if found:
            raise InvalidTaskBackend("; ".join(found))
        register(alias, params)
        self.kinds = kinds_of(alias)

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        """Commit the task's goal now and send it to a worker once the caller's transaction commits."""
        self.validate_task(task)
        params = results.task_params(task, *_json_arguments(task, args, kwargs))
        try:
            goal, _created = goal_submit(kind=self.kinds[task.queue_name].kind, params=params,
                                         run_after=task.run_after, cause=Cause.API)
        except GoalValidationError as exc:
            raise InvalidTask(f"task {task.module_path}: {_said(exc)}") from exc
        result = results.enqueued_result(goal, task, self.alias)
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult:
        return results.read_result(result_id, self.kinds)


def _json_arguments(task: Task, args: Any, kwargs: Any) -> tuple[list, dict[str, Any]]:
    """The arguments as the goal stores them (tuples become lists, as Django normalises them), or
    ``InvalidTask`` naming what is not JSON: nothing is written then."""
    try:
        args, kwargs = normalize_json(list(args)), normalize_json(dict(kwargs))
        json.dumps([args, kwargs], allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidTask(f"task {task.module_path}: its arguments must be JSON: {exc}") from None
    return args, kwargs


def _said(error: GoalValidationError) -> str:
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
