"""Filling a throwaway database with goals for the benchmarks: set-based SQL, timestamps relative to ``now``.

Each benchmark builds its sizes in ``goaltrack_bench`` on the ``DATABASE_URL`` server (dropped before and
after), with one ``INSERT ... SELECT FROM generate_series`` statement: 1% active goals, 0.1% of them
anomalies the reconciler must find, 99% history with result rows in django-celery-results' table.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "goaltrack_bench"

# name, state, then created, queued, started, heartbeat, finished, deadline as offsets from the passes' ``now``,
# then the result row's status. Goal i takes role i % 4 if anomalous, 4 + i % 4 if active, else 8 or 9.
ROLES = [
    ("stalled", "running", "-30 min", "-29 min", "-15 min", "-14 min", None, None, None),
    ("lost_in_queue", "queued", "-125 min", "-120 min", None, None, None, None, None),
    ("overdue", "queued", "-10 min", "-9 min", None, None, None, "-1 min", None),
    ("lost_callback", "running", "-20 min", "-19 min", "-18 min", "-10 min", None, None, "SUCCESS"),
    ("pending", "pending", "-10 s", None, None, None, None, None, None),
    ("queued", "queued", "-70 s", "-60 s", None, None, None, "1 day", None),
    ("running", "running", "-3 min", "-2 min", "-1 min", "-10 s", None, None, None),
    ("retrying", "retrying", "-3 min", "-30 s", None, None, None, None, None),
    ("succeeded", "succeeded", "-2 days", "-2 days", "-2 days", "-2 days", "-2 days", None, "SUCCESS"),
    ("failed", "failed", "-2 days", "-2 days", "-2 days", "-2 days", "-2 days", None, "FAILURE"),
]
# Ids are UUIDv7 of the goal's creation time (its task id: of its queueing, or now), as goals.ids makes them.
UUID7_AT = """
CREATE FUNCTION pg_temp.uuid7_at(at timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
    SELECT encode(set_byte(overlay(random_bytes PLACING substring(int8send(floor(extract(epoch FROM
                  COALESCE(at, now())) * 1000)::int8) FROM 3) FROM 1 FOR 6), 6,
                  (get_byte(random_bytes, 6) & 15) | 112), 'hex')::uuid
      FROM (SELECT uuid_send(gen_random_uuid()) AS random_bytes) AS r
$$
"""
# History is spread over ~23 days before the roles' offsets, all outside the pass's result lookback.
GENERATE = """
WITH roles (n, name, state, created, queued, started, heartbeat, finished, deadline, status) AS (VALUES {roles}),
t AS MATERIALIZED (
    SELECT i, pg_temp.uuid7_at(b + r.created::interval) AS id, pg_temp.uuid7_at(b + r.queued::interval)::text
           AS task_id, r.state, r.status, b + r.created::interval AS created, b + r.queued::interval AS queued,
           b + r.started::interval AS started, b + r.heartbeat::interval AS heartbeat,
           b + r.finished::interval AS finished, b + r.deadline::interval AS deadline
      FROM generate_series(1, %(total)s) AS i
      JOIN roles r ON r.n = CASE WHEN i <= %(anomalies)s THEN i %% 4 WHEN i <= %(active)s THEN 4 + i %% 4
                                 ELSE 8 + (i %% 10 = 0)::int END
     CROSS JOIN LATERAL (SELECT %(now)s::timestamptz - CASE WHEN r.finished IS NULL THEN interval '0'
                                                     ELSE make_interval(secs => i %% 2000000) END) AS x(b)
),
g AS (INSERT INTO goals_goal (id, kind, params, state, attempt, max_attempts, progress_current, progress_message,
                              task_id, created_at, queued_at, started_at, heartbeat_at, finished_at, final_state,
                              deadline)
      SELECT id, {kind}, '{{}}', state, 1, 3, 0, '', task_id, created, queued, started, heartbeat, finished,
             CASE WHEN finished IS NOT NULL THEN state END, deadline FROM t),
a AS (INSERT INTO goals_attempt (goal_id, number, task_id, worker, created_at, queued_at, started_at, finished_at,
                                 outcome)
      SELECT id, 1, task_id, '', created, queued, started, finished, CASE WHEN finished IS NULL THEN '' ELSE state END
        FROM t)
INSERT INTO django_celery_results_taskresult (task_id, task_name, task_args, task_kwargs, status, worker, content_type,
                                              content_encoding, result, date_created, date_done)
SELECT task_id, 'goals.execute', format('["%%s", 1]', id), '{{}}', status, 'bench@host', 'application/json', 'utf-8',
       CASE WHEN status = 'SUCCESS' THEN '{{"n": ' || i || '}}' ELSE '{{"exc_type": "Exception"}}' END,
       heartbeat, COALESCE(finished, heartbeat)
  FROM t WHERE status IS NOT NULL
"""


# The journal of the goals just built: submit, then enqueue, start and the final transition where the
# goal went through them, each stamped with the goal's own time for it (as the real journal is).
JOURNAL = """
INSERT INTO goals_goalevent (goal_id, created_at, event, transition, from_state, to_state, attempt, task_id, cause,
                             actor, details)
SELECT g.id, e.at, 'transition', e.transition, e.from_state, e.to_state, 1, g.task_id, e.cause, e.actor, '{}'
  FROM goals_goal g
 CROSS JOIN LATERAL (VALUES
     (1, 'submit', '', 'pending', g.created_at, 'api', 'bench'),
     (2, 'enqueue', 'pending', 'queued', g.queued_at, 'publisher', 'bench-host:1'),
     (3, 'start', 'queued', 'running', g.started_at, 'executor', 'bench-host:2'),
     (4, CASE WHEN g.state = 'failed' THEN 'fail' ELSE 'succeed' END, 'running', g.state, g.finished_at, 'executor',
      'bench-host:2')
 ) AS e(step, transition, from_state, to_state, at, cause, actor)
 WHERE e.at IS NOT NULL
 ORDER BY e.at, e.step  -- a history goal's steps share one time: their ids still follow the steps
"""


def server_url(database: str) -> str:
    url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/goaltrack"
    return urlsplit(url)._replace(path=f"/{database}").geturl()


def admin_sql(statement: str) -> None:
    with psycopg.connect(server_url("postgres"), autocommit=True) as conn:
        conn.execute(statement)


def build(total: int, now: datetime, *, kinds: int = 1, active: int | None = None, anomalies: int | None = None,
          journal: bool = False) -> float:
    """Replace the goals with ``total`` new ones (of ``kinds`` kinds: ``bench.noop``, ``bench.kind1``, ...),
    ``active`` of them active (1% by default), ``anomalies`` of those anomalies (a tenth by default);
    with ``journal``, their journal rows too (up to four a goal, in time order)."""
    from django.db import connection

    clock = time.perf_counter()
    values = (", ".join("NULL" if v is None else f"'{v}'" for v in role) for role in ROLES)
    roles = ", ".join(f"({n}, {row})" for n, row in enumerate(values))
    kind = "'bench.noop'"
    if kinds > 1:
        kind = f"CASE WHEN i % {kinds} = 0 THEN 'bench.noop' ELSE 'bench.kind' || i % {kinds} END"
    active = total // 100 if active is None else active
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE goals_goal, goals_attempt, goals_goalevent, goals_reconciliationfinding,"
                       " goals_reconciliationreport, goals_externalevent, django_celery_results_taskresult")
        cursor.execute("DROP FUNCTION IF EXISTS pg_temp.uuid7_at(timestamptz)")
        cursor.execute(UUID7_AT)
        cursor.execute(GENERATE.format(roles=roles, kind=kind.replace("%", "%%")),
                       {"total": total, "active": active, "now": now,
                        "anomalies": active // 10 if anomalies is None else anomalies})
        if journal:
            cursor.execute(JOURNAL)
        for table in ("goals_goal", "goals_attempt", "django_celery_results_taskresult",
                      *(["goals_goalevent"] if journal else [])):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return time.perf_counter() - clock
