"""The worker side of Django's tasks: the executor every task kind runs, and Django's task signals.

``run_task`` is an executor like any other (``goals.tasks.execute_goal`` calls it after the start
transition), so a ``@task`` gets what every goal gets: its attempts, retries by the backend's options, the
reconciler's repairs, limits, cancellation. ``task_started`` is sent as each attempt starts; ``task_finished``
once the goal's final transition is recorded (Celery's ``task_postrun`` comes after the task's hooks), with the
goal as it was recorded.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import task_postrun
from django.utils.module_loading import import_string

from goals.task_names import EXECUTE_TASK
from goals.tasking import results
from goals.tasking.compat import TaskContext, TaskResult, normalize_json, task_finished, task_started
from goals.tasking.kinds import kinds_of, task_kind
from goals.worker.context import ExecutionContext

logger = logging.getLogger(__name__)


def run_task(ctx: ExecutionContext, *, task: str, args: list, kwargs: dict) -> Any:
    """Run the ``@task`` at module path ``task`` with ``args`` and ``kwargs``; its return value, made JSON as
    Django's backends make it, is the goal's result. A task that takes the context gets the goal's result as
    ``context.task_result``, whose ``attempt`` is the goal's."""
    django_task = import_string(task)
    running = _result_of(ctx) if django_task.takes_context or task_started.has_listeners() else None
    if running is not None:
        task_started.send(sender=_backend_class(), task_result=running)
    if django_task.takes_context:
        value = django_task.call(TaskContext(task_result=running), *args, **kwargs)
    else:
        value = django_task.call(*args, **kwargs)
    return normalize_json(value)


def _result_of(ctx: ExecutionContext) -> TaskResult:
    return results.read_result(ctx.goal_id, kinds_of(task_kind(ctx.kind).alias))


def _backend_class() -> type:
    from goals.tasking.backend import GoalTaskBackend

    return GoalTaskBackend


def send_finished(sender: Any = None, task: Any = None, **kwargs: Any) -> None:
    """``task_finished`` for a task's goal that became final in this attempt: after Celery ran the task's hooks,
    so the goal row says how it ended."""
    if getattr(sender, "name", None) != EXECUTE_TASK or not task_finished.has_listeners():
        return
    run = getattr(task.request, "goal_run", None)
    if run is None or task_kind(run.kind) is None:
        return
    finished = results.read_result(run.goal_id, kinds_of(task_kind(run.kind).alias))
    if finished.is_finished:
        task_finished.send(sender=_backend_class(), task_result=finished)


def connect_signals() -> None:
    task_postrun.connect(send_finished, dispatch_uid="goals.tasking.send_finished", weak=False)
