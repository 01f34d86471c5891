"""Counts the SQL statements each worker pool child runs (``celery worker --include sqlcount``).

Each child adds its count to ``BENCH_SQL_COUNT_DIR/<pid>`` when it exits, so the benchmark can divide
statements by tasks for both stacks the same way. Counting is an integer increment per statement.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from celery.signals import worker_process_init, worker_process_shutdown
from django.db import connection

COUNT_DIR = os.environ.get("BENCH_SQL_COUNT_DIR", "")
_count = 0


def _counting(execute: Any, sql: str, params: Any, many: bool, context: dict) -> Any:
    global _count
    _count += 1
    return execute(sql, params, many, context)


@worker_process_init.connect
def install(**kwargs: Any) -> None:
    if COUNT_DIR:
        connection.execute_wrappers.append(_counting)


@worker_process_shutdown.connect
def report(**kwargs: Any) -> None:
    if COUNT_DIR:
        Path(COUNT_DIR, str(os.getpid())).write_text(str(_count))
