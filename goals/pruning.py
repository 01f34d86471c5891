"""Retention: deleting final goals (with their attempts and events) and old reconciliation reports in
bounded batches, oldest first, so a prune never holds long locks or bloats one huge transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from goals.models import Attempt, Goal, GoalEvent, ReconciliationFinding, ReconciliationReport


@dataclass
class PruneCounts:
    goals: int = 0
    reports: int = 0


def _delete_goals_statement() -> str:
    goal_t, attempt_t, event_t = Goal._meta.db_table, Attempt._meta.db_table, GoalEvent._meta.db_table
    return f"""
    WITH doomed AS (
        SELECT id FROM {goal_t}
         WHERE finished_at < %(cutoff)s  -- only final goals have finished
         ORDER BY finished_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
    ),
    events AS (DELETE FROM {event_t} WHERE goal_id IN (SELECT id FROM doomed)),
    attempts AS (DELETE FROM {attempt_t} WHERE goal_id IN (SELECT id FROM doomed))
    DELETE FROM {goal_t} WHERE id IN (SELECT id FROM doomed)
    """


def _delete_reports_statement() -> str:
    report_t, finding_t = ReconciliationReport._meta.db_table, ReconciliationFinding._meta.db_table
    return f"""
    WITH doomed AS (
        SELECT id FROM {report_t} WHERE started_at < %(cutoff)s ORDER BY started_at LIMIT %(limit)s
    ),
    findings AS (DELETE FROM {finding_t} WHERE report_id IN (SELECT id FROM doomed))
    DELETE FROM {report_t} WHERE id IN (SELECT id FROM doomed)
    """


def count_prunable(*, cutoff: datetime) -> PruneCounts:
    """What ``prune`` would delete (for ``--dry-run``)."""
    return PruneCounts(
        goals=Goal.objects.final().filter(finished_at__lt=cutoff).count(),
        reports=ReconciliationReport.objects.filter(started_at__lt=cutoff).count(),
    )


def prune(*, cutoff: datetime, batch_size: int = 1000) -> PruneCounts:
    """Delete final goals finished before ``cutoff`` and reports started before it, ``batch_size`` rows
    per transaction. Active goals are never deleted, however old."""
    counts = PruneCounts()
    for statement, attribute in ((_delete_goals_statement(), "goals"), (_delete_reports_statement(), "reports")):
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, {"cutoff": cutoff, "limit": batch_size})
                deleted = cursor.rowcount
            setattr(counts, attribute, getattr(counts, attribute) + deleted)
            if deleted < batch_size:
                break
    return counts
