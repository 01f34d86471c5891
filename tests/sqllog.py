"""Logs every SQL statement a worker's pool child runs, tagged with the goal of the task running it.

The session worker imports this module (``celery worker --include tests.sqllog``) when
``GOALS_TEST_SQL_LOG`` names a file, so a test can count the statements and transactions one goal's life
costs on the worker side, measured on the real worker rather than estimated.
"""

from __future__ import annotations

import json
import os
from typing import Any

from celery import current_task
from celery.signals import worker_process_init
from django.db import connection

LOG_PATH = os.environ.get("GOALS_TEST_SQL_LOG", "")


def _log_statement(execute: Any, sql: str, params: Any, many: bool, context: dict) -> Any:
    request = current_task.request if current_task else None
    conn = context["connection"]
    record = {
        "goal": str(request.args[0]) if request and request.args else None,
        "task": request.id if request else None,
        # Statements outside atomic() are transactions of their own (Django runs in autocommit).
        "transaction": id(conn.atomic_blocks[0]) if conn.in_atomic_block else None,
        "sql": sql,
    }
    with open(LOG_PATH, "a") as log:
        log.write(json.dumps(record) + "\n")
    return execute(sql, params, many, context)


@worker_process_init.connect
def install_statement_log(**kwargs: Any) -> None:
    if LOG_PATH:
        connection.execute_wrappers.append(_log_statement)
