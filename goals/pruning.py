"""Retention: deleting final goals (with their attempts and events) and old reconciliation reports in
bounded batches, oldest first, so a prune never holds long locks or bloats one huge transaction; and
compacting the journal of goals finished long ago down to what a person needs from it.

Why compaction and not monthly partitions of the journal: the journal's growth stays off the hot path
either way (rows are appended at the right edge of its primary key and, with time-ordered goal ids, of
its ``(goal, id)`` index; the recent window is read from the key's tail), so what is left is disk and
vacuum. Partitions would make dropping a month cheap, but a goal's journal is read by goal, which every
partition would have to answer; the key would have to carry the month; a journal row refers to its goal,
which Django's migrations cannot declare on a partitioned table; and a month can only be dropped once
every goal in it is pruned, so it would impose one retention for goals and journal alike. Compaction
keeps each goal's summary (its row, its attempts, and the journal rows below) for as long as the goal is
kept, and drops the detail the goal row and its attempts already say."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import OuterRef, Subquery

from goals.lifecycle import store
from goals.models import Cause, EventType, Goal, GoalEvent, ReconciliationReport

# The rows compaction drops: what workers and the publisher journaled on the way (enqueued, started,
# retried, refused late callbacks, failed publishes), which the goal row and its attempts summarize. It
# keeps the submit, every row a person or the reconciler caused, review flags, and the last transition.
_MACHINE_CAUSES = (Cause.EXECUTOR.value, Cause.PUBLISHER.value)
_DETAIL_EVENTS = (EventType.TRANSITION.value, EventType.IGNORED.value, EventType.PUBLISH_FAILED.value)
# The nightly compaction looks this far back past its cutoff, so a night it missed is done the next one.
COMPACT_WINDOW = timedelta(days=2)
_EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass
class PruneCounts:
    goals: int = 0
    reports: int = 0
    journal_rows: int = 0


def count_prunable(*, cutoff: datetime) -> PruneCounts:
    """What ``prune`` would delete (for ``--dry-run``)."""
    return PruneCounts(
        goals=Goal.objects.final().filter(finished_at__lt=cutoff).count(),
        reports=ReconciliationReport.objects.filter(started_at__lt=cutoff).count(),
    )


def prune(*, cutoff: datetime, batch_size: int = 1000) -> PruneCounts:
    """Delete final goals finished before ``cutoff`` and reports started before it, ``batch_size`` rows
    per transaction. Active goals are never deleted, however old."""
    return PruneCounts(goals=_delete_in_batches(store.delete_final_goals, cutoff=cutoff, batch_size=batch_size),
                       reports=_delete_in_batches(store.delete_reports, cutoff=cutoff, batch_size=batch_size))


def prune_unconsumed_events(*, cutoff: datetime, batch_size: int = 1000) -> int:
    """Delete the outside events no goal consumed that arrived before ``cutoff``, ``batch_size`` per
    transaction; returns how many (``GOALS_EVENT_RETENTION_DAYS``)."""
    return _delete_in_batches(store.delete_unconsumed_events, cutoff=cutoff, batch_size=batch_size)


def _delete_in_batches(delete: Callable[..., int], *, cutoff: datetime, batch_size: int) -> int:
    """Run ``delete(cutoff=, limit=)`` a transaction at a time until a batch finds nothing (a short batch
    may have left parents whose children it deleted); returns how many rows in all."""
    deleted = 0
    while True:
        with transaction.atomic():
            batch = delete(cutoff=cutoff, limit=batch_size)
        deleted += batch
        if batch == 0:
            return deleted


def compact_journals(*, cutoff: datetime, since: datetime | None = None, batch_size: int = 1000) -> int:
    """Drop the detail rows (see ``_MACHINE_CAUSES``) from the journals of goals finished before ``cutoff``
    (and not before ``since``), ``batch_size`` goals per transaction, oldest first; returns the rows
    deleted. Active goals keep their whole journal, however old; a retried goal gets its detail back
    as it runs again, and is compacted again once it finishes and ages past the cutoff. Nothing is
    locked: a goal retried while its batch runs keeps its submit, its earlier final row and all it
    journals from then on, and may lose the detail of its earlier run a little sooner."""
    params = {"cutoff": cutoff, "since": since or _EARLIEST, "after_at": _EARLIEST, "after_id": uuid.UUID(int=0),
              "limit": batch_size, "causes": list(_MACHINE_CAUSES), "events": list(_DETAIL_EVENTS),
              "transition": EventType.TRANSITION.value}
    deleted = 0
    while True:
        with transaction.atomic():
            row = store.compact_journals(params)
        if row is None:  # no goal left in the range
            return deleted
        rows, params["after_at"], params["after_id"], goals = row
        deleted += rows
        if goals < batch_size:
            return deleted


def count_compactable(*, cutoff: datetime) -> int:
    """Journal rows ``compact_journals`` would delete before ``cutoff`` (for ``--dry-run``)."""
    last_transition = GoalEvent.objects.filter(goal_id=OuterRef("goal_id"), event=EventType.TRANSITION)
    return (GoalEvent.objects.filter(goal__finished_at__lt=cutoff, cause__in=_MACHINE_CAUSES,
                                     event__in=_DETAIL_EVENTS)
            .exclude(id=Subquery(last_transition.order_by("-id").values("id")[:1])).count())
