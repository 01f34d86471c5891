"""The task's django-celery-results row, written by the goal's own final transition.

Celery stores a task's result (one read and one write in their own transaction) before the
``on_success``/``on_failure`` hook moves the goal (another transaction). For goal tasks the two say the
same thing, so the worker writes the result row inside the goal's transition statement instead: one
flushed commit fewer per goal, and the row and the goal can never disagree. The row is the one
django-celery-results would have written (its own backend encodes every field), so ``AsyncResult``,
its admin and ``celery.backend_cleanup`` work on it as on any other.

With any other result backend Celery stores results itself, as usual.
"""

from __future__ import annotations

from typing import Any

from celery import Task, current_app, states
from celery.app.task import Context
from django_celery_results.backends.database import DatabaseBackend


def writes_own_result_rows(task: Task) -> bool:
    """Whether the goal's transitions write the task's result row (the result backend is ``django-db``)."""
    return isinstance(task.backend, DatabaseBackend)


def goal_results_in_database() -> bool:
    """Whether this process's Celery app stores results with django-celery-results, so that goal
    transitions keep the result rows of the goal's task ids (the worker's and everyone else's)."""
    return isinstance(current_app.backend, DatabaseBackend)


def result_row(task: Task, *, status: str, value: Any, traceback: str | None = None,
               request: Context | None = None) -> dict[str, Any] | None:
    """The columns of the result row django-celery-results would store for the task now running (or for
    ``request``), or None when Celery stores results itself."""
    if not writes_own_result_rows(task):
        return None
    backend: DatabaseBackend = task.backend
    request = request or task.request
    content_type, content_encoding, result = backend.encode_content(backend.encode_result(value, status))
    meta = {**backend._get_meta_from_request(request), "children": backend.current_task_children(request)}
    _, _, encoded_meta = backend.encode_content(meta)
    row = {
        "task_id": request.id,
        "status": status,
        "result": result,
        "traceback": traceback,
        "meta": encoded_meta,
        "content_type": content_type,
        "content_encoding": content_encoding,
        **backend._get_extended_properties(request, traceback),
    }
    # The same column list every time, so the statement that inserts it is cached once.
    return {column: row.get(column) for column in ROW_COLUMNS}


# The columns of the row, in the order the ``move_goals`` statement takes them (``%(row_<column>)s``).
ROW_COLUMNS = ("task_id", "status", "result", "traceback", "meta", "content_type", "content_encoding",
               "periodic_task_name", "task_name", "task_args", "task_kwargs", "worker")


# What a final goal says as a Celery task result: its task ids' rows end in this status (as Celery marks a
# revoked or expired task). The SQL twin is ``goals_celery_status`` (migration 0014), which the statements
# and the reconciler's mismatch finding ask; ``tests/db/test_rule_twins.py`` holds the two equal.
CELERY_STATUS: dict[str, str] = {"succeeded": states.SUCCESS, "failed": states.FAILURE, "cancelled": states.REVOKED,
                                 "expired": states.REVOKED}
