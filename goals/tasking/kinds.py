"""Which goal kinds Django's tasks run as: one per backend alias and queue, registered at start-up.

A ``@task`` is run by a goal of the kind its backend and queue name (``tasks.default``, ``tasks.emails``;
``tasks.<alias>.<queue>`` for a backend other than ``default``), whose params carry the task's module path
and arguments. The kind fixes the Celery queue the goal is sent to (Django's ``default`` queue is
``GOALS_TASK_QUEUE``, any other queue its own name) and the executor options the backend's ``OPTIONS``
give, so a retry, a resend by the reconciler and a hold by a limit all reach the same workers.

Read from ``settings.TASKS`` without importing Django's task framework: a project that does not use the
backend pays nothing, and the kinds exist in every process (web, worker, beat) before a task is enqueued.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from goals.conf import goal_settings
from goals.executors.registry import KIND_PATTERN, executor

BACKEND_PATHS = frozenset({"goals.tasking.GoalTaskBackend", "goals.tasking.backend.GoalTaskBackend"})
# Django's own default queue name (``django.tasks.DEFAULT_TASK_QUEUE_NAME``), and the default backend alias.
DJANGO_DEFAULT_QUEUE = "default"
DEFAULT_ALIAS = "default"
# What ``OPTIONS`` may set: the executor options of the kinds (``goals.executors.registry.executor``).
EXECUTOR_OPTIONS = frozenset({"max_attempts", "retry_backoff", "retry_backoff_max", "retry_jitter", "timeout",
                              "heartbeat_timeout", "idempotent", "concurrency", "rate"})


@dataclass(frozen=True)
class TaskKind:
    """The goal kind of one backend alias and queue, and the Celery queue its goals go to."""

    kind: str
    alias: str
    queue: str
    celery_queue: str


_kinds: dict[str, TaskKind] = {}


def kind_name(alias: str, queue: str) -> str:
    return f"tasks.{queue}" if alias == DEFAULT_ALIAS else f"tasks.{alias}.{queue}"


def celery_queue(queue: str) -> str:
    return goal_settings().task_queue if queue == DJANGO_DEFAULT_QUEUE else queue


def configured() -> dict[str, dict[str, Any]]:
    """The ``TASKS`` entries whose backend is goaltrack's, by alias."""
    return {alias: params for alias, params in (getattr(settings, "TASKS", None) or {}).items()
            if isinstance(params, dict) and params.get("BACKEND") in BACKEND_PATHS}


def queues_of(params: dict[str, Any]) -> Any:
    """The queues a ``TASKS`` entry names (Django's default queue if it names none), as given: ``problems`` says
    whether they are a list of names goaltrack can use."""
    return params.get("QUEUES", [DJANGO_DEFAULT_QUEUE])


def problems(alias: str, params: dict[str, Any]) -> list[str]:
    """What is wrong with one goaltrack entry of ``TASKS``: what the system check reports and the backend
    refuses to start with."""
    found = []
    queues = queues_of(params)
    if not isinstance(queues, list | tuple) or not queues:
        found.append(f"TASKS[{alias!r}]['QUEUES'] must list the queue names its tasks may use (each runs as a "
                     "goal kind, so the list cannot be empty)")
    else:
        found += [f"TASKS[{alias!r}]['QUEUES']: {queue!r} is not a queue name goaltrack can use: lowercase letters, "
                  "digits and underscores, starting with a letter"
                  for queue in queues if not isinstance(queue, str) or not KIND_PATTERN.match(queue) or "." in queue]
    if alias != DEFAULT_ALIAS and not (KIND_PATTERN.match(alias) and "." not in alias):
        found.append(f"TASKS[{alias!r}]: the alias names goal kinds (tasks.<alias>.<queue>): lowercase letters, "
                     "digits and underscores, starting with a letter")
    options = params.get("OPTIONS", {})
    if not isinstance(options, dict):
        found.append(f"TASKS[{alias!r}]['OPTIONS'] must be a dict")
    else:
        found += [f"TASKS[{alias!r}]['OPTIONS']: unknown option {name!r} (known: {', '.join(sorted(EXECUTOR_OPTIONS))})"
                  for name in options if name not in EXECUTOR_OPTIONS]
    return found


def register_configured() -> None:
    """Register the kinds of every goaltrack entry of ``TASKS`` that has no problem (the system check reports
    the others); called from ``GoalsConfig.ready``, so every process knows them before a task is enqueued."""
    for alias, params in configured().items():
        if not problems(alias, params):
            register(alias, params)


def register(alias: str, params: dict[str, Any]) -> None:
    """Register backend ``alias``'s kinds, one per queue (again: the same); the backend calls it too, in case a
    ``@task`` module is imported before the apps are ready."""
    from goals.tasking import running  # imports Django's task framework: only where the backend is used

    for queue in queues_of(params):
        spec = TaskKind(kind=kind_name(alias, queue), alias=alias, queue=queue, celery_queue=celery_queue(queue))
        executor(spec.kind, queue=spec.celery_queue, **params.get("OPTIONS", {}))(running.run_task)
        _kinds[spec.kind] = spec
    running.connect_signals()


def task_kind(kind: str) -> TaskKind | None:
    """The task kind ``kind`` is, or None for a goal kind of the project's own executors."""
    return _kinds.get(kind)


def kinds_of(alias: str) -> dict[str, TaskKind]:
    """The kinds of backend ``alias``, by queue name."""
    return {spec.queue: spec for spec in _kinds.values() if spec.alias == alias}
