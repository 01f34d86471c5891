"""Finding drift with set-based SQL: one statement classifies every active goal against its current
attempt's task result row; another reads recent result rows for final goals and orphans.

Both are bounded by what is active or recent, never by history: the first walks the partial index on
active states (joined to the result table by its unique ``task_id``), the second the index on
``date_done``. Evidence, not elapsed time alone, decides: a final result row beats a stale heartbeat,
and "no result row" means unknown, never "queued". A goal queued for long is lost only if its queue has
since delivered a message published after it: otherwise it is waiting behind a backlog (or for workers
that are down), and sending it again would only lengthen the queue it waits in.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django_celery_results.models import TaskResult

from goals.conf import GoalSettings
from goals.executors.heartbeats import silent_sql, silent_sql_params
from goals.executors.registry import get_executor, hard_time_limit, registered_kinds
from goals.lifecycle.states import GoalState
from goals.models import Attempt, ExternalEvent, Finding, Goal, ReconciliationFinding
from goals.querysets import active_sql, sql_list
from goals.task_names import EXECUTE_TASK

FINAL_RESULT_STATUSES = ("SUCCESS", "FAILURE")


@dataclass(frozen=True)
class Candidate:
    """A goal (or orphan result row) the detector found something about: its state and attempt as
    classified (the fence of any repair), and ``moved_to``, the state it had moved to when claimed."""

    finding: str
    goal_id: uuid.UUID | None
    task_id: str
    state: str
    attempt: int | None
    max_attempts: int
    kind: str
    result_status: str | None
    result: str | None = None
    traceback: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    moved_to: str = ""


def scanned_goals_sql() -> str:
    """The active goals a pass judges (after ``%(after)s`` in id order, not set aside for review): those with
    no start time or wait deadline (``run_after``), on their id index; those whose time has come, on the
    ``run_after`` index (a released goal keeps its start time while active, only its end clears it); and of
    those whose time is to come, the ones a rule can judge before it: past their deadline, or children (an
    orphan). A goal scheduled or waiting for an event is read again only when its time comes, not every pass:
    no rule about it could fire before, and the time rules do once it has. Three disjoint sets, one index
    each (two for the last)."""
    goal_t = Goal._meta.db_table
    judged = "NOT g.needs_review AND g.id > %(after)s"
    return f"""
        SELECT g.* FROM {goal_t} g WHERE {active_sql("g")} AND g.run_after IS NULL AND {judged}
        UNION ALL
        SELECT g.* FROM {goal_t} g WHERE {active_sql("g")} AND g.run_after <= %(now)s AND {judged}
        UNION ALL
        SELECT g.* FROM {goal_t} g
         WHERE {active_sql("g")} AND g.run_after > %(now)s AND (g.deadline < %(now)s OR g.parent_id IS NOT NULL)
           AND {judged}"""


def _active_statement(*, lock: bool, kinds_filter: bool) -> str:
    goal_t, attempt_t, result_t = Goal._meta.db_table, Attempt._meta.db_table, TaskResult._meta.db_table
    final = sql_list(FINAL_RESULT_STATUSES)
    S = GoalState
    # Per-kind limits by array lookup (a join to a list of kinds cost a nested loop per goal).
    kind_index = "array_position(%(kinds)s::text[], goals_run_kind(g.kind, g.continuation)::text)"
    # The attempt row is read only when its age decides (a pending goal), not for every active goal. A goal
    # released from "scheduled" is pending since its start time, not since its first attempt's row.
    attempt_created = f"(SELECT a.created_at FROM {attempt_t} a WHERE a.goal_id = g.id AND a.number = g.attempt)"
    # Whether the goal's result row can change its verdict; when not, its index is not probed (a one-time
    # filter per goal). A scheduled goal's attempt was never sent; a held goal's message was taken and put
    # aside (goals.executors.limits). A queued or retrying goal queued within the callback grace has no
    # result row old enough to be a lost callback (the row is written after it was queued, both stamped by
    # the database clock when goaltrack writes the row) and no time rule has fired for it yet.
    needs_result = (f"g.state NOT IN ('{S.SCHEDULED}', '{S.HELD}')"
                    f" AND (g.state NOT IN ('{S.QUEUED}', '{S.RETRYING}')"
                    " OR g.deadline < %(now)s OR g.queued_at IS NULL"
                    " OR g.queued_at < GREATEST(%(callback_before)s::timestamptz, %(queued_before)s::timestamptz))")
    # Queues deliver in order: per queue, the newest goal a worker has taken (it started) bounds what was
    # published before it and delivered. Walks each kind's index back over its goals not yet started,
    # which are active: bounded by the active set, not by history. Computed once per statement.
    delivered = f"""
    delivered AS MATERIALIZED (
        SELECT k.queue, max(newest.created_at) AS up_to
          FROM unnest(%(kinds)s::text[], %(queues)s::text[]) AS k(kind, queue)
         CROSS JOIN LATERAL (
              -- A range, not "=": with kind a known constant the planner may walk the created_at index
              -- instead, through the whole history of every kind that has no started goal.
              SELECT d.created_at FROM {goal_t} d
               WHERE d.kind >= k.kind AND d.kind <= k.kind AND d.started_at IS NOT NULL
               ORDER BY d.kind DESC, d.created_at DESC LIMIT 1
         ) newest
         GROUP BY k.queue
    ),"""
    queue = f"COALESCE((%(queues)s::text[])[{kind_index}], %(default_queue)s)"
    queue_moved_on = (f"(SELECT up_to FROM delivered WHERE delivered.queue = {queue})"
                      " > g.queued_at + make_interval(secs => %(callback_grace)s)")
    return f"""
    WITH {delivered}
    seen AS (
        SELECT g.id, g.state, g.attempt, r.status AS result_status, r.date_done AS result_done,
               g.heartbeat_at, g.started_at, g.queued_at, g.deadline,
               CASE
                 WHEN r.status IN ({final}) AND r.date_done < %(callback_before)s THEN '{Finding.LOST_CALLBACK}'
                 WHEN g.parent_id IS NOT NULL AND EXISTS (
                          SELECT FROM {goal_t} p WHERE p.id = g.parent_id AND p.finished_at IS NOT NULL)
                      THEN '{Finding.ORPHANED_CHILD}'
                 WHEN g.state = '{S.WAITING}' AND g.deadline < %(now)s THEN '{Finding.WAITING_OVERDUE}'
                 WHEN g.deadline < %(now)s THEN '{Finding.OVERDUE}'
                 WHEN (g.state = '{S.SCHEDULED}' OR (g.state = '{S.HELD}' AND g.held_for = 'rate'))
                      AND g.run_after < %(pending_before)s
                      THEN '{Finding.DUE_NOT_RELEASED}'
                 WHEN g.state = '{S.WAITING}' AND g.wait_event <> '' AND g.run_after < %(pending_before)s
                      THEN '{Finding.WAIT_EXPIRED}'
                 WHEN g.state = '{S.WAITING}' AND g.wait_event = '' AND goals_children_decided(
                          g.children_total, g.children_final, g.children_failed, g.child_failures_allowed)
                      THEN '{Finding.MISSED_FAN_IN}'
                 WHEN g.state = '{S.RUNNING}' AND r.task_id IS NULL
                      AND g.started_at < %(now)s - make_interval(
                          secs => COALESCE((%(time_limit)s::float8[])[{kind_index}], %(default_time_limit)s)
                                  + %(callback_grace)s)
                      THEN '{Finding.RESULT_MISSING}'
                 WHEN g.state = '{S.RUNNING}' AND (r.status IS NULL OR r.status NOT IN ({final}))
                      AND {silent_sql('g', kind_index)}
                      THEN '{Finding.STALLED}'
                 WHEN g.state = '{S.PENDING}' AND r.task_id IS NULL
                      AND GREATEST({attempt_created}, g.run_after) < %(pending_before)s
                      THEN '{Finding.NEVER_SENT}'
                 WHEN g.state IN ('{S.QUEUED}', '{S.RETRYING}') AND r.task_id IS NULL
                      AND g.queued_at < %(queued_before)s AND {queue_moved_on}
                      THEN '{Finding.LOST_IN_QUEUE}'
               END AS finding
          FROM ({scanned_goals_sql()}) g
          LEFT JOIN LATERAL (
              SELECT r.task_id, r.status, r.date_done FROM {result_t} r
               WHERE r.task_id = g.task_id AND ({needs_result})
               LIMIT 1  -- task ids are unique; this keeps the subquery whole, so the goal-only test gates it
          ) r ON true
    )
    SELECT s.finding, g.id, g.task_id, s.state, s.attempt, g.state, g.attempt, g.max_attempts,
           goals_run_kind(g.kind, g.continuation), s.result_status, r.result, r.traceback,
           -- The evidence the goal was classified on, as JSON built here: timestamps as ISO 8601 text,
           -- absent ones left out.
           jsonb_strip_nulls(jsonb_build_object(
               'state', s.state, 'attempt', s.attempt, 'task_id', g.task_id,
               'task_result', COALESCE(s.result_status, 'missing'), 'task_result_done_at', s.result_done,
               'heartbeat_at', s.heartbeat_at, 'started_at', s.started_at, 'queued_at', s.queued_at,
               'attempt_created_at', (SELECT a.created_at FROM {attempt_t} a
                                       WHERE a.goal_id = s.id AND a.number = s.attempt),
               'deadline', s.deadline, 'now', %(now)s::timestamptz,
               'parent_id', g.parent_id,
               'children', CASE WHEN g.children_total > 0 THEN jsonb_build_object(
                   'total', g.children_total, 'final', g.children_final, 'failed', g.children_failed) END
           ))::text,
           g.parent_id
      FROM seen s
      JOIN {goal_t} g ON g.id = s.id
      LEFT JOIN {result_t} r ON r.task_id = g.task_id
     WHERE s.finding IS NOT NULL{" AND s.finding = ANY(%(only)s)" if kinds_filter else ""}
     ORDER BY g.id
     LIMIT %(limit)s
     {"FOR UPDATE OF g SKIP LOCKED" if lock else ""}
    """


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def active_candidates(*, config: GoalSettings, now: datetime, after: uuid.UUID, limit: int, lock: bool,
                      only: list[str] | None = None) -> list[Candidate]:
    """The next ``limit`` active goals (by id, after ``after``) with a finding; with ``lock`` they are
    claimed ``FOR UPDATE SKIP LOCKED`` for the current transaction, so a concurrent pass skips them.

    A goal that moved between classification and claim is returned with the state it moved to, and its
    finding's repair is fenced off by the transition's compare-and-set.
    """
    kinds = registered_kinds()
    specs = [get_executor(kind) for kind in kinds]
    params = {
        "kinds": kinds,
        "queues": [spec.queue for spec in specs],
        "default_queue": config.task_queue,
        "time_limit": [spec.hard_time_limit for spec in specs],
        **silent_sql_params(kinds),
        "default_time_limit": hard_time_limit(config.default_timeout),
        "callback_grace": config.reconcile_callback_grace,
        "now": now,
        "callback_before": now - timedelta(seconds=config.reconcile_callback_grace),
        "pending_before": now - timedelta(seconds=config.reconcile_pending_grace),
        "queued_before": now - timedelta(seconds=config.reconcile_queued_timeout),
        "after": str(after),
        "limit": limit,
        "only": only or [],
    }
    with connection.cursor() as cursor:
        cursor.execute(_active_statement(lock=lock, kinds_filter=bool(only)), params)
        rows = cursor.fetchall()
    if lock:
        rows = _with_parents_claimed(rows)
    candidates = []
    for (finding, goal_id, task_id, seen_state, seen_attempt, state, attempt, max_attempts, kind, status,
         result, traceback, evidence_json, _parent_id) in rows:
        evidence = json.loads(evidence_json)
        moved = (state, attempt) != (seen_state, seen_attempt)
        if moved:
            evidence["moved_to"] = {"state": state, "attempt": attempt}
        candidates.append(Candidate(
            finding=finding, goal_id=goal_id, task_id=task_id, state=seen_state, attempt=seen_attempt,
            moved_to=state if moved else "", max_attempts=max_attempts, kind=kind, result_status=status,
            result=result, traceback=traceback, evidence=evidence,
        ))
    return candidates


def _with_parents_claimed(rows: list[tuple]) -> list[tuple]:
    """Claim the parents of the claimed goals too, ``SKIP LOCKED``, and leave out (for a later pass) the
    goals whose parent another transaction holds.

    A repair that ends a child locks its parent (``move_goals``), and everyone else locks a parent
    before its child; the pass already holds the child, so waiting for the parent could deadlock with a
    worker ending a sibling. Claimed now, the parent is never waited for."""
    parents = sorted({str(row[-1]) for row in rows if row[-1] is not None})
    if not parents:
        return rows
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {Goal._meta.db_table} WHERE id = ANY(%s::uuid[]) ORDER BY id"
                       " FOR UPDATE SKIP LOCKED", [parents])
        claimed = {str(row[0]) for row in cursor.fetchall()}
    return [row for row in rows if row[-1] is None or str(row[-1]) in claimed]


def _results_statement() -> str:
    goal_t, attempt_t, result_t = Goal._meta.db_table, Attempt._meta.db_table, TaskResult._meta.db_table
    return f"""
    SELECT CASE WHEN a.id IS NULL THEN '{Finding.ORPHAN_RESULT}' ELSE '{Finding.MISMATCH}' END,
           g.id, r.task_id, g.state, g.attempt, g.max_attempts, g.kind, r.status, r.date_done
      FROM {result_t} r
      LEFT JOIN {attempt_t} a ON a.task_id = r.task_id
      LEFT JOIN {goal_t} g ON g.id = a.goal_id AND g.task_id = r.task_id
     WHERE r.task_name = %(task_name)s AND r.date_done >= %(since)s AND r.status IN ({sql_list(FINAL_RESULT_STATUSES)})
       AND (a.id IS NULL
            OR (NOT g.needs_review
                -- The row's outcome contradicts the goal's: success against anything else.
                AND (r.status = 'SUCCESS') <> (goals_celery_status(g.state) = 'SUCCESS')))
     ORDER BY r.date_done
    """


def result_candidates(*, since: datetime, only: list[str] | None = None) -> list[Candidate]:
    """Final goals whose current result row says the opposite, and result rows of goal tasks that match
    no attempt, among result rows finished since ``since``."""
    if only and not {Finding.MISMATCH, Finding.ORPHAN_RESULT} & set(only):
        return []
    with connection.cursor() as cursor:
        cursor.execute(_results_statement(), {"task_name": EXECUTE_TASK, "since": since})
        rows = cursor.fetchall()
    candidates = []
    for finding, goal_id, task_id, state, attempt, max_attempts, kind, status, done in rows:
        if only and finding not in only:
            continue
        candidates.append(Candidate(
            finding=finding, goal_id=goal_id, task_id=task_id, state=state or "", attempt=attempt,
            max_attempts=max_attempts or 0, kind=kind or "", result_status=status,
            evidence={"state": state, "task_id": task_id, "task_result": status,
                      "task_result_done_at": _iso(done)} if goal_id else
                     {"task_id": task_id, "task_result": status, "task_result_done_at": _iso(done),
                      "attempt": "no goal attempt has this task id"},
        ))
    return candidates


def _events_statement() -> str:
    goal_t, event_t = Goal._meta.db_table, ExternalEvent._meta.db_table
    finding_t = ReconciliationFinding._meta.db_table
    # Reported once: the lookback overlaps the previous pass, and the event stays until retention.
    return f"""
    SELECT g.id, g.task_id, g.state, g.attempt, g.max_attempts, g.kind, e.id, e.name, e.received_at
      FROM {event_t} e
      JOIN {goal_t} g ON g.id = e.goal_id
     WHERE e.consumed_at IS NULL AND e.goal_id IS NOT NULL AND g.finished_at IS NOT NULL
       AND GREATEST(e.received_at, g.finished_at) >= %(since)s
       AND NOT EXISTS (SELECT FROM {finding_t} f
                        WHERE f.goal_id = e.goal_id AND f.kind = '{Finding.EVENT_UNCONSUMED}'
                          AND f.evidence->>'event' = e.id::text)
     ORDER BY e.id
    """


def event_candidates(*, since: datetime, only: list[str] | None = None) -> list[Candidate]:
    """Outside events sent to a goal by id that has ended without taking them, the goal or the event new
    since ``since`` (the pass's lookback, as for result rows), and not reported before."""
    if only and Finding.EVENT_UNCONSUMED not in only:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_events_statement(), {"since": since})
        rows = cursor.fetchall()
    return [Candidate(finding=Finding.EVENT_UNCONSUMED, goal_id=goal_id, task_id=task_id, state=state, attempt=attempt,
                      max_attempts=max_attempts, kind=kind, result_status=None,
                      evidence={"event": event_id, "name": name, "received_at": _iso(received), "state": state})
            for goal_id, task_id, state, attempt, max_attempts, kind, event_id, name, received in rows]


def scanned_counts(*, since: datetime, now: datetime) -> tuple[int, int]:
    """How many active goals (``scanned_goals_sql``) and recent goal-task result rows a pass looks at."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT count(*) FROM ({scanned_goals_sql()}) g),"
            f" (SELECT count(*) FROM {TaskResult._meta.db_table} WHERE date_done >= %(since)s"
            "   AND task_name = %(task)s)",
            {"after": str(uuid.UUID(int=0)), "now": now, "since": since, "task": EXECUTE_TASK},
        )
        goals, results = cursor.fetchone()
    return goals, results
