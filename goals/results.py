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
from django_celery_results.models import TaskResult

from goals.models import Attempt
from goals.states import GoalState
from goals.task_names import EXECUTE_TASK


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


ROW_COLUMNS = ("task_id", "status", "result", "traceback", "meta", "content_type", "content_encoding",
               "periodic_task_name", "task_name", "task_args", "task_kwargs", "worker")


def insert_sql(source: str) -> str:
    """A CTE body inserting (or, for a task id seen before, updating) the row once per row of ``source``."""
    table = TaskResult._meta.db_table
    columns = ", ".join(ROW_COLUMNS)
    values = ", ".join(f"%(row_{column})s" for column in ROW_COLUMNS)
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in ROW_COLUMNS if column != "task_id")
    return f"""
        INSERT INTO {table} ({columns}, date_created, date_done)
        SELECT {values}, now(), now() FROM {source}
        ON CONFLICT (task_id) DO UPDATE SET {updates}, date_done = EXCLUDED.date_done"""


def row_params(row: dict[str, Any]) -> dict[str, Any]:
    return {f"row_{column}": value for column, value in row.items()}


# Final Celery states, in SQL: a row in one of them is never changed again (Celery's results never move
# back from ready).
_READY = ", ".join(f"'{state}'" for state in sorted(states.READY_STATES))


def finish_sql(source: str, *, except_current: bool) -> str:
    """A CTE body that gives every task id the goals in ``source`` ever had (one per attempt) the final
    Celery state of the goal, unless its row is final already.

    Each attempt has its own task id, where Celery's own retries keep one: without this, the id of an
    attempt that was retried stays ``RETRY`` (or, lost with its worker, ``PENDING``) forever, and whoever
    holds it waits in vain. A succeeded goal's ids say SUCCESS with its result, a failed one's FAILURE
    with its error, a cancelled or expired one's REVOKED (as Celery marks a revoked or expired task), as
    django-celery-results' JSON encoding would store them. ``source`` has the goals' ``id``, ``state``,
    ``task_id``, ``result`` and ``error`` after the move; ``except_current`` leaves out the current
    attempt, whose row the worker writes in full (``insert_sql``).
    """
    table, attempt_t = TaskResult._meta.db_table, Attempt._meta.db_table
    current = " AND a.task_id <> s.task_id" if except_current else ""
    error_type = "COALESCE(s.error->>'type', 'Exception')"
    return f"""
        INSERT INTO {table} (task_id, status, result, traceback, meta, content_type, content_encoding, task_name,
                             date_created, date_done)
        SELECT a.task_id, f.status, f.result, f.traceback, '{{"children": []}}', 'application/json', 'utf-8',
               '{EXECUTE_TASK}', now(), now()
          FROM {source} s
          JOIN {attempt_t} a ON a.goal_id = s.id
         CROSS JOIN LATERAL (
             SELECT CASE s.state WHEN '{GoalState.SUCCEEDED}' THEN '{states.SUCCESS}'
                                 WHEN '{GoalState.FAILED}' THEN '{states.FAILURE}'
                                 ELSE '{states.REVOKED}' END AS status,
                    CASE s.state
                        WHEN '{GoalState.SUCCEEDED}' THEN COALESCE(s.result, 'null'::jsonb)::text
                        WHEN '{GoalState.FAILED}' THEN jsonb_build_object(
                            'exc_type', regexp_replace({error_type}, '^.*[.]', ''),
                            'exc_message', jsonb_build_array(COALESCE(s.error->>'message', 'goal failed')),
                            'exc_module', CASE WHEN {error_type} LIKE '%%.%%'
                                               THEN regexp_replace({error_type}, '[.][^.]*$', '')
                                               ELSE 'builtins' END)::text
                        ELSE jsonb_build_object('exc_type', 'TaskRevokedError',
                                                'exc_message', jsonb_build_array('goal ' || s.state),
                                                'exc_module', 'celery.exceptions')::text
                    END AS result,
                    CASE s.state WHEN '{GoalState.FAILED}' THEN NULLIF(s.error->>'traceback', '') END AS traceback
         ) f
         WHERE a.task_id <> ''{current}
        ON CONFLICT (task_id) DO UPDATE
           SET status = EXCLUDED.status, result = EXCLUDED.result, traceback = EXCLUDED.traceback,
               content_type = EXCLUDED.content_type, content_encoding = EXCLUDED.content_encoding,
               date_done = EXCLUDED.date_done
         WHERE {table}.status NOT IN ({_READY})"""
