"""Reads for the overview surfaces (admin overview, metrics): counts whose cost follows the active goals.

Counting every goal ever recorded would grow with the history; these read the active goals through
their partial indexes, and final goals only within a recent window (``finished_at`` is indexed for
final goals), so a scrape or a page view costs the same at a million goals as at a thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from uuid import UUID

from django.db import connection
from django.db.models import Count, Min, Sum
from django_celery_results.models import TaskResult

from goals.db import hot_cursor, model_from_row
from goals.executors.registry import declared_concurrency, declared_rates, registered_kinds
from goals.models import ConcurrencySlots, Goal, GoalEvent, KindControl, ReconciliationReport


@dataclass(frozen=True)
class StateKindCount:
    state: str
    kind: str
    count: int


def goal_active_counts() -> list[StateKindCount]:
    """Active goals per state and kind, exactly."""
    rows = Goal.objects.active().order_by().values("state", "kind").annotate(count=Count("*"))
    return [StateKindCount(row["state"], row["kind"], row["count"]) for row in rows]


def goal_finished_counts(*, since: datetime) -> list[StateKindCount]:
    """Goals that became final since ``since``, per final state and kind."""
    rows = (Goal.objects.final().filter(finished_at__gte=since).order_by()
            .values("state", "kind").annotate(count=Count("*")))
    return [StateKindCount(row["state"], row["kind"], row["count"]) for row in rows]


def goal_oldest_active_created_at() -> datetime | None:
    return Goal.objects.active().aggregate(oldest=Min("created_at"))["oldest"]


def goal_needs_review_count() -> int:
    return Goal.objects.filter(needs_review=True).count()


@dataclass(frozen=True)
class KindStatus:
    """What an operator reads of a kind: its concurrency limit (declared, set, in force), whether it is paused,
    and how many of its goals run on a slot or are held."""

    kind: str
    declared: int | None
    concurrency: int | None
    paused: bool
    paused_at: datetime | None
    paused_by: str
    pause_reason: str
    running: int
    held_for_slot: int
    held_for_pause: int
    # Its rate in force, (starts, period in seconds): an operator's, else its executor's; None for none.
    rate: tuple[int, float] | None = None
    held_for_rate: int = 0

    @property
    def limit(self) -> int | None:
        """The limit in force: an operator's, else the executor's; None for none."""
        return self.concurrency if self.concurrency is not None else self.declared

    @property
    def held(self) -> int:
        return self.held_for_slot + self.held_for_pause + self.held_for_rate


def kind_statuses() -> list[KindStatus]:
    """Every registered kind, and any kind an operator set a control for, in name order: three small
    queries (the controls, the limited keys' slots taken, the held goals through their index), whatever the
    history holds."""
    declared, rates = declared_concurrency(), declared_rates()
    controls = {control.kind: control for control in KindControl.objects.all()}
    running = dict(ConcurrencySlots.objects.order_by().values("kind").annotate(taken=Sum("running"))
                   .values_list("kind", "taken"))
    held = {(kind, reason): count for kind, reason, count in goal_held_counts()}
    statuses = []
    for kind in sorted(set(registered_kinds()) | set(controls)):
        control = controls.get(kind)
        statuses.append(KindStatus(
            kind=kind, declared=declared.get(kind), concurrency=control.concurrency if control else None,
            paused=bool(control and control.paused), paused_at=control.paused_at if control else None,
            paused_by=control.paused_by if control else "", pause_reason=control.pause_reason if control else "",
            running=running.get(kind) or 0, held_for_slot=held.get((kind, "slot"), 0),
            held_for_pause=held.get((kind, "pause"), 0), held_for_rate=held.get((kind, "rate"), 0),
            rate=(control.rate, control.rate_period) if control and control.rate else rates.get(kind)))
    return statuses


def goal_held_counts() -> list[tuple[str, str, int]]:
    """Held goals per kind and reason (``slot``, ``pause``), through the held goals' index."""
    rows = (Goal.objects.active().exclude(held_for="").order_by().values("kind", "held_for")
            .annotate(count=Count("*")))
    return [(row["kind"], row["held_for"], row["count"]) for row in rows]


@dataclass(frozen=True)
class EventCount:
    event: str
    transition: str
    cause: str
    count: int


def goal_event_counts(*, since: datetime) -> list[EventCount]:
    """Journal rows written since ``since``, per event type, transition and cause, in one GROUP BY.

    Rows are appended in time order, so the window is the tail of the primary key: after the newest row
    written before ``since``, found by walking the key back from its end. ``since`` should be recent:
    the cost is the window's, however long the journal. A row stamped inside the window but inserted
    before that newest older one (a transaction that began before ``since`` and inserted after) is missed:
    for a metric, a row or two at the window's edge.
    """
    event_t = GoalEvent._meta.db_table
    with connection.cursor() as cursor:
        # Two statements: the window's first id as a literal lets the planner read the key's range; as a
        # subquery's result it is unknown when planning, and the journal is scanned.
        cursor.execute(f"SELECT id FROM {event_t} WHERE created_at < %s ORDER BY id DESC LIMIT 1", [since])
        before = cursor.fetchone()
        cursor.execute(f"""
            SELECT event, transition, cause, count(*) FROM {event_t}
             WHERE id > %(after)s AND created_at >= %(since)s
             GROUP BY event, transition, cause""", {"after": before[0] if before else 0, "since": since})
        return [EventCount(*row) for row in cursor.fetchall()]


def goal_activity(*, since: datetime, bucket: timedelta) -> list[tuple[str, datetime, int]]:
    """Goals started (attempts taken by a worker, from the journal's tail as ``goal_event_counts`` reads it),
    succeeded and failed (through the index of final goals), per ``bucket`` since ``since``: rows of
    (``started`` | ``succeeded`` | ``failed``, the bucket's start, count). The cost is the window's."""
    event_t, goal_t = GoalEvent._meta.db_table, Goal._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {event_t} WHERE created_at < %s ORDER BY id DESC LIMIT 1", [since])
        before = cursor.fetchone()
        cursor.execute(f"""
            SELECT 'started', date_bin(%(bucket)s, created_at, %(since)s) AS at, count(*) FROM {event_t}
             WHERE id > %(after)s AND created_at >= %(since)s AND event = 'transition' AND transition = 'start'
             GROUP BY at
            UNION ALL
            SELECT final_state, date_bin(%(bucket)s, finished_at, %(since)s) AS at, count(*) FROM {goal_t}
             WHERE finished_at >= %(since)s AND finished_at IS NOT NULL AND final_state IN ('succeeded', 'failed')
             GROUP BY final_state, at""", {"after": before[0] if before else 0, "since": since, "bucket": bucket})
        return cursor.fetchall()


@dataclass(frozen=True)
class LatencyHistogram:
    """Cumulative counts: ``buckets[i]`` is the number of samples ``<= bounds[i]``; ``count`` is all of them."""

    bounds: tuple[float, ...]
    buckets: tuple[int, ...]
    count: int
    sum: float


def goal_callback_latency(*, since: datetime, bounds: tuple[float, ...]) -> LatencyHistogram:
    """How long goals that became final since ``since`` lagged behind their Celery result row.

    The delay is ``goal.finished_at - taskresult.date_done``, clamped at 0 (a goal cancelled or expired
    before its task stored a result would otherwise count negative). With the django-db backend a goal's
    final transition writes its result row in the same statement (``goals.lifecycle.results``): the delay is 0,
    and a long one is a goal the reconciler repaired from a row written some other way. Goals whose
    current task has no result row are left out: there is nothing to measure against. One query, whatever
    the number of goals or buckets.
    """
    goal_t = Goal._meta.db_table
    result_t = TaskResult._meta.db_table
    columns = ", ".join([*(f"count(*) FILTER (WHERE seconds <= %(bound{i})s)" for i in range(len(bounds))),
                         "count(*)", "COALESCE(sum(seconds), 0)"])
    sql = f"""
        WITH latency AS (
            SELECT GREATEST(EXTRACT(EPOCH FROM g.finished_at - r.date_done)::float8, 0) AS seconds
              FROM {goal_t} AS g
              JOIN {result_t} AS r ON r.task_id = g.task_id
             WHERE g.finished_at >= %(since)s AND r.date_done IS NOT NULL  -- only final goals have finished
        )
        SELECT {columns} FROM latency
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"since": since, **{f"bound{i}": bound for i, bound in enumerate(bounds)}})
        *buckets, count, total = cursor.fetchone()
    return LatencyHistogram(bounds=tuple(bounds), buckets=tuple(buckets), count=count, sum=float(total))


def report_latest_finished() -> ReconciliationReport | None:
    """The most recent repairing pass that completed.

    A pass saves its report when it starts and fills in its counts when it ends: the newest row may be a
    pass still running (or one that died), whose empty counts would read as "nothing found".
    """
    return (ReconciliationReport.objects.applied().filter(finished_at__isnull=False)
            .order_by("-started_at").first())


def goal_kinds() -> list[str]:
    """The distinct kinds of all goals, by skipping through the ``(kind, created_at)`` index: one probe per
    kind, where ``SELECT DISTINCT kind`` reads every goal."""
    table = Goal._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"""
            WITH RECURSIVE kinds(kind) AS (
                SELECT min(kind) FROM {table}
                UNION ALL
                SELECT (SELECT min(kind) FROM {table} WHERE kind > kinds.kind) FROM kinds WHERE kinds.kind IS NOT NULL
            )
            SELECT kind FROM kinds WHERE kind IS NOT NULL
        """)
        return [row[0] for row in cursor.fetchall()]


# What the status endpoint shows: every column of the JSON answer, nothing else.
STATUS_FIELDS = ("id", "kind", "params", "state", "attempt", "max_attempts", "progress_current", "progress_total",
                 "progress_message", "result", "error", "created_at", "started_at", "finished_at", "deadline",
                 "run_after", "needs_review", "parent_id", "child_key", "children_total", "children_final",
                 "children_failed", "child_failures_allowed", "continuation", "wait_event", "wait_key", "held_for",
                 "limit_key", "rate_key")


@lru_cache(maxsize=2)
def _status_sql(owned: bool) -> str:
    table = Goal._meta.db_table
    columns = ", ".join(f"g.{name}" for name in STATUS_FIELDS)
    # A parent's children still active add their own progress to its whole (through the index of active
    # children, only while some are): the share of one child each, at most.
    running_share = f"""CASE WHEN g.children_final < g.children_total THEN (
        SELECT COALESCE(sum(LEAST(1.0, c.progress_current::float8 / c.progress_total)), 0) FROM {table} c
         WHERE c.parent_id = g.id AND c.finished_at IS NULL AND c.progress_total > 0) END"""
    owner = " AND g.owner_id = %s" if owned else ""
    return f"SELECT {columns}, {running_share} FROM {table} g WHERE g.id = %s{owner}"


def goal_for_status(*, goal_id: UUID, owner_id: int | None) -> Goal | None:
    """The goal's status columns (``owner_id=None``: whoever owns it), or None.

    The hottest read there is (clients poll it): one constant, prepared statement instead of the ORM,
    whose query compilation cost more than the query itself (about 0.9 ms against 0.4 ms measured, for
    25 columns). Returns a partial ``Goal`` (other fields load on access).
    """
    with hot_cursor() as cursor:
        cursor.execute(_status_sql(owner_id is not None), [goal_id] if owner_id is None else [goal_id, owner_id])
        row = cursor.fetchone()
    if row is None:
        return None
    goal = model_from_row(Goal, list(STATUS_FIELDS), row[:-1])
    goal.children_running_share = row[-1] or 0.0
    return goal
