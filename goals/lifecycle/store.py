"""Every write to the goal, attempt and journal tables, one function per named statement.

Oban's engine is the model: a reader who wants to know what can change a goal reads this list, and each
entry runs one statement of ``goals/lifecycle/sql`` whole, with what varies passed as parameters. The
modules above (submitting, the worker's callbacks, families, review, the publisher, retention) decide
*what* to write and call these; none of them holds SQL of its own. A function here returns what its
statement returns, as plain rows; turning them into outcomes is the caller's part.

The statements run once per goal or more go through ``hot_cursor`` (prepared once per connection); the
rare ones (retention) through Django's own cursor.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import connection

from goals.db import hot_cursor
from goals.lifecycle.statements import sql


def insert_goals(*, kind: str, items: str, max_attempts: int, owner_id: Any, deadline: datetime | None, cause: str,
                 actor: str, parent_id: UUID | str | None = None, parent_attempt: int | None = None,
                 run_after: datetime | None = None, schedule_id: int | None = None, rated: bool = False,
                 capacity: int | None = None, trace_context: dict[str, str] | None = None
                 ) -> tuple[bool | None, datetime, bool, list[int]]:
    """``insert_goals``: goals of ``kind`` from ``items`` (a JSON array of ``[id, task_id, key, params,
    limit_key, rate_key]``; ``rated``: its executor declares a rate, ``capacity`` its concurrency limit),
    as children of ``parent_id`` at its running ``parent_attempt`` if given, scheduled until ``run_after``
    if that is still to come, as a period of schedule ``schedule_id`` if given, with the submit's
    ``trace_context`` (``goals.tracing``) if any. Returns whether the parent
    was running (None without one), the goals' ``created_at``, whether they are scheduled and the 1-based
    positions not inserted."""
    with hot_cursor() as cursor:
        cursor.execute(sql("insert_goals"), {
            "kind": kind, "items": items, "max_attempts": max_attempts, "owner_id": owner_id, "deadline": deadline,
            "cause": cause, "actor": actor[:255], "parent_id": str(parent_id) if parent_id else None,
            "parent_attempt": parent_attempt, "run_after": run_after, "schedule_id": schedule_id, "rated": rated,
            "capacity": capacity,
            "trace_context": json.dumps(trace_context) if trace_context else None})
        return cursor.fetchone()


def claim_due_goals(*, limit: int) -> list[UUID]:
    """``claim_due_goals``: up to ``limit`` scheduled goals whose start time has come, locked (``SKIP
    LOCKED``) until the transaction ends, oldest due first."""
    with hot_cursor() as cursor:
        cursor.execute(sql("claim_due_goals"), {"limit": limit})
        return [row[0] for row in cursor.fetchall()]


def claim_expired_waits(*, limit: int) -> list[UUID]:
    """``claim_expired_waits``: up to ``limit`` goals waiting for an event past their wait's deadline, locked
    (``SKIP LOCKED``) until the transaction ends."""
    with hot_cursor() as cursor:
        cursor.execute(sql("claim_expired_waits"), {"limit": limit})
        return [row[0] for row in cursor.fetchall()]


def lock_event_addresses(addresses: list[str]) -> None:
    """``lock_event_addresses``: the transaction's advisory locks on these event addresses, in order."""
    with hot_cursor() as cursor:
        cursor.execute(sql("lock_event_addresses"), {"addresses": addresses})


def record_event(*, name: str, key: str | None, goal_id: UUID | str | None, owner_id: int | None, payload: str,
                 event_key: str | None) -> tuple[int, bool, UUID | None, int | None]:
    """``record_event``: the event's id, whether it is new, and the waiting goal it resumes (id, attempt)."""
    with hot_cursor() as cursor:
        cursor.execute(sql("record_event"), {"name": name, "key": key, "goal_id": str(goal_id) if goal_id else None,
                                             "owner_id": owner_id, "payload": payload, "event_key": event_key})
        return cursor.fetchone()


def claim_early_event(*, name: str, goal_id: UUID | str, key: str | None) -> int | None:
    """``claim_early_event``: the oldest unconsumed event that came before the goal's wait, locked; or None."""
    with hot_cursor() as cursor:
        cursor.execute(sql("claim_early_event"), {"name": name, "goal_id": str(goal_id), "key": key})
        row = cursor.fetchone()
        return row[0] if row else None


def coming_starts(*, within: float, tick: float) -> list[datetime]:
    """``coming_starts``: when scheduled goals come due in the next ``within`` seconds, rounded up to
    multiples of ``tick`` seconds, soonest first."""
    with hot_cursor() as cursor:
        cursor.execute(sql("coming_starts"), {"within": within, "tick": tick})
        return [row[0] for row in cursor.fetchall()]


def start_attempt(*, goal_id: UUID | str, attempt: int | None, task_id: str, actor: str, cause: str,
                  journal_refusal: bool, limits: str, rates: str) -> tuple | None:
    """``start_attempt``: the worker takes the attempt, or holds it under its kind's limits (``limits`` and
    ``rates``: the declared ones as JSON objects by kind); the outcome row, or None without such a goal."""
    with hot_cursor() as cursor:
        cursor.execute(sql("start_attempt"), {"goal_id": str(goal_id), "attempt": attempt, "task_id": task_id,
                                              "actor": actor[:255], "cause": cause,
                                              "journal_refusal": journal_refusal, "limits": limits,
                                              "rates": rates})
        return cursor.fetchone()


def admit_held_goals(*, keys: str, cause: str, actor: str) -> list[tuple]:
    """``admit_held_goals``: the held goals given the free slots of ``keys`` (a JSON array of [kind, key]), as
    (id, attempt, task_id, run_kind) rows, in id order."""
    with hot_cursor() as cursor:
        cursor.execute(sql("admit_held_goals"), {"keys": keys, "cause": cause, "actor": actor[:255]})
        return cursor.fetchall()


def recount_slots(*, repair: bool) -> list[tuple]:
    """``lock_slots`` then ``recount_slots``, in the caller's transaction: (kind, key, capacity, running and held
    as counted before, running and held as the goals say) for every key that disagreed or has held goals and a
    free slot; with ``repair`` the counts are corrected."""
    with hot_cursor() as cursor:
        cursor.execute(sql("lock_slots"))
        cursor.execute(sql("recount_slots"), {"repair": repair})
        return cursor.fetchall()


def set_kind_concurrency(*, kind: str, concurrency: int | None, declared: int | None, actor: str, reason: str
                         ) -> str | None:
    """``set_kind_concurrency``: the operator's limit for ``kind`` recorded, journaled and counted against; the
    keys whose held goals it lets in (a JSON array of [kind, key]), or None."""
    with hot_cursor() as cursor:
        cursor.execute(sql("set_kind_concurrency"), {"kind": kind, "concurrency": concurrency, "declared": declared,
                                                     "actor": actor[:255], "reason": reason})
        return cursor.fetchone()[0]


def set_kind_rate(*, kind: str, rate: int | None, period: float | None, actor: str, reason: str) -> None:
    """``set_kind_rate``: the operator's rate for ``kind`` recorded and journaled, its keys' windows made."""
    with hot_cursor() as cursor:
        cursor.execute(sql("set_kind_rate"), {"kind": kind, "rate": rate, "period": period, "actor": actor[:255],
                                              "reason": reason})


def pause_kind(*, kind: str, actor: str, reason: str) -> bool:
    """``pause_kind``: whether the kind was running (and now is paused)."""
    with hot_cursor() as cursor:
        cursor.execute(sql("pause_kind"), {"kind": kind, "actor": actor[:255], "reason": reason})
        return cursor.fetchone()[0]


def resume_kind(*, kind: str, actor: str, reason: str) -> bool:
    """``resume_kind``: whether the kind was paused (and now runs again)."""
    with hot_cursor() as cursor:
        cursor.execute(sql("resume_kind"), {"kind": kind, "actor": actor[:255], "reason": reason})
        return cursor.fetchone()[0]


def admit_paused_goals(*, kind: str, limit: int, cause: str, actor: str) -> list[tuple]:
    """``admit_paused_goals``: up to ``limit`` goals held for the kind's pause, as (id, attempt, task_id,
    run_kind) rows, in id order."""
    with hot_cursor() as cursor:
        cursor.execute(sql("admit_paused_goals"), {"kind": kind, "limit": limit, "cause": cause, "actor": actor[:255]})
        return cursor.fetchall()


def mark_queued(*, goal_ids: list[str], attempts: list[int | None], actor: str, cause: str) -> list[tuple]:
    """``mark_queued``: published attempts recorded queued; an outcome row per goal found, in id order."""
    with hot_cursor() as cursor:
        cursor.execute(sql("mark_queued"), {"goal_ids": goal_ids, "attempts": attempts, "actor": actor[:255],
                                            "cause": cause})
        return cursor.fetchall()


def move_goals(parameters: dict[str, Any]) -> list[tuple]:
    """``move_goals``: one transition of a set of goals; an outcome row per goal found, in id order. The
    parameters come from ``goals.lifecycle.transitions``, which reads them off the transition table."""
    with hot_cursor() as cursor:
        cursor.execute(sql("move_goals"), parameters)
        return cursor.fetchall()


def end_lone_attempt(parameters: dict[str, Any]) -> tuple | None:
    """``end_lone_attempt``: the worker's end of a lone goal's attempt; the outcome row, or None without such
    a goal."""
    with hot_cursor() as cursor:
        cursor.execute(sql("end_lone_attempt"), parameters)
        return cursor.fetchone()


def report_progress(*, goal_id: UUID | str, attempt: int, current: int, total: int | None, message: str) -> int:
    """``report_progress``: 1 if the attempt is still running (and its progress and heartbeat written), else 0."""
    with hot_cursor() as cursor:
        cursor.execute(sql("report_progress"), {"goal_id": str(goal_id), "attempt": attempt, "current": current,
                                                "total": total, "message": message[:255]})
        return cursor.rowcount


def flag_for_review(*, flags: list[dict[str, Any]], cause: str, actor: str) -> set[str]:
    """``flag_for_review``: the ids (as text) of the goals this call flagged."""
    with connection.cursor() as cursor:
        cursor.execute(sql("flag_for_review"), {"flags": json.dumps(flags), "cause": cause, "actor": actor[:255]})
        return {str(goal_id) for (goal_id,) in cursor.fetchall()}


def acknowledge_review(*, goal_id: UUID | str, cause: str, actor: str, reason: str) -> bool:
    """``acknowledge_review``: whether the goal was flagged (and now is not)."""
    with connection.cursor() as cursor:
        cursor.execute(sql("acknowledge_review"), {"goal_id": str(goal_id), "cause": cause, "actor": actor[:255],
                                                   "reason": reason[:1000]})
        return cursor.fetchone() is not None


def journal_publish_failures(*, goal_ids: list[str], attempts: list[int], task_ids: list[str], error: str,
                             actor: str) -> None:
    """``journal_publish_failures``: one ``publish_failed`` row per attempt not sent."""
    with connection.cursor() as cursor:
        cursor.execute(sql("journal_publish_failures"), {"goal_ids": goal_ids, "attempts": attempts,
                                                         "task_ids": task_ids, "error": error,
                                                         "actor": actor[:255]})


def delete_final_goals(*, cutoff: datetime, limit: int) -> int:
    """``delete_final_goals``: how many goals one batch deleted."""
    with connection.cursor() as cursor:
        cursor.execute(sql("delete_final_goals"), {"cutoff": cutoff, "limit": limit})
        return cursor.rowcount


def delete_unconsumed_events(*, cutoff: datetime, limit: int) -> int:
    """``delete_unconsumed_events``: how many outside events no goal consumed one batch deleted."""
    with connection.cursor() as cursor:
        cursor.execute(sql("delete_unconsumed_events"), {"cutoff": cutoff, "limit": limit})
        return cursor.rowcount


def delete_reports(*, cutoff: datetime, limit: int) -> int:
    """``delete_reports``: how many reconciliation reports one batch deleted."""
    with connection.cursor() as cursor:
        cursor.execute(sql("delete_reports"), {"cutoff": cutoff, "limit": limit})
        return cursor.rowcount


def compact_journals(parameters: dict[str, Any]) -> tuple | None:
    """``compact_journals``: one batch; (rows deleted, the batch's last finished_at and id, its size), or None
    when no goal is left in the range."""
    with connection.cursor() as cursor:
        cursor.execute(sql("compact_journals"), parameters)
        return cursor.fetchone()
