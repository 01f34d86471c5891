"""The worker side of Django's tasks: the executor every task kind runs, and Django's task signals.

``run_task`` is an executor like any other (``goals.tasks.execute_goal`` calls it after the start
transition), so a ``@task`` gets what every goal gets: its attempts, retries by the backend's options, the
reconciler's repairs, limits, cancellation. ``task_started`` is sent as each attempt starts; ``task_finished``
once the goal's final transition is recorded (Celery's ``task_postrun`` comes after the task's hooks), with the
goal as it was recorded.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from celery.signals import task_postrun
from django.utils import timezone
from django.utils.module_loading import import_string

from goals.ids import id_time
from goals.lifecycle.states import GoalState
from goals.task_names import EXECUTE_TASK
from goals.tasking import results
from goals.tasking.compat import (
    Task,
    TaskContext,
    TaskResult,
    TaskResultStatus,
    normalize_json,
    task_finished,
    task_started,
)
from goals.tasking.kinds import kinds_of, task_kind
from goals.worker.context import ExecutionContext


def run_task(ctx: ExecutionContext, *, task: str, args: list, kwargs: dict) -> Any:
    """Run the ``@task`` at module path ``task`` with ``args`` and ``kwargs``; its return value, made JSON as
    Django's backends make it, is the goal's result. A task that takes the context gets the goal's result as
    ``context.task_result``, whose ``attempt`` is the goal's."""
    django_task = import_string(task)
    running = None
    if django_task.takes_context or task_started.has_listeners():
        running = _running_result(ctx, django_task, args, kwargs)
        task_started.send(sender=_backend_class(), task_result=running)
    if django_task.takes_context:
        value = django_task.call(TaskContext(task_result=running), *args, **kwargs)
    else:
        value = django_task.call(*args, **kwargs)
    return normalize_json(value)


# A first attempt's result as it started, by (goal id, attempt), until ``send_finished`` takes it.
_first_attempts: dict[tuple[str, int], TaskResult] = {}


def _running_result(ctx: ExecutionContext, django_task: Task, args: list, kwargs: dict) -> TaskResult:
    """The goal's result as its attempt starts. A first attempt's is known without reading the row (no error
    yet, this worker the only one, enqueued when its id was made): the common case costs no query. A later
    attempt's is read, with every earlier attempt's worker and error."""
    spec = task_kind(ctx.kind)
    if ctx.attempt > 1:
        return results.read_result(ctx.goal_id, kinds_of(spec.alias))
    now = timezone.now()
    running = TaskResult(task=django_task, id=str(ctx.goal_id), status=TaskResultStatus.RUNNING,
                         enqueued_at=id_time(ctx.goal_id), started_at=now, last_attempted_at=now, finished_at=None,
                         args=args, kwargs=kwargs, backend=spec.alias, errors=[], worker_ids=[ctx.worker])
    _first_attempts[(str(ctx.goal_id), ctx.attempt)] = running
    return running


def _backend_class() -> type:
    from goals.tasking.backend import GoalTaskBackend

    return GoalTaskBackend


def send_finished(sender: Any = None, task: Any = None, retval: Any = None, **kwargs: Any) -> None:
    """``task_finished`` for a task's goal that became final in this attempt: after Celery ran the task's hooks,
    so it says what the goal row says. A first attempt whose success was recorded is known without a read;
    any other end is read from the row."""
    if getattr(sender, "name", None) != EXECUTE_TASK:
        return
    run = getattr(task.request, "goal_run", None)
    if run is None or task_kind(run.kind) is None:
        return
    started = _first_attempts.pop((str(run.goal_id), run.attempt), None)
    if not task_finished.has_listeners():
        return
    end = getattr(task.request, "goal_end", None)
    if started is not None and end is not None and end.applied and end.state == GoalState.SUCCEEDED:
        finished = replace(started, status=TaskResultStatus.SUCCESSFUL, finished_at=timezone.now())
        object.__setattr__(finished, "_return_value", retval)  # frozen: as Django's own backends set it
    else:
        finished = results.read_result(run.goal_id, kinds_of(task_kind(run.kind).alias))
    if finished.is_finished:
        task_finished.send(sender=_backend_class(), task_result=finished)


def connect_signals() -> None:
    task_postrun.connect(send_finished, dispatch_uid="goals.tasking.send_finished", weak=False)
