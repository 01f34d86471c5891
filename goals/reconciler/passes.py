"""One reconciler pass: claim findings in batches, repair them, and write the report.

Each batch is one transaction that claims up to ``GOALS_RECONCILE_BATCH_SIZE`` goals with
``FOR UPDATE SKIP LOCKED`` and repairs them before committing, so concurrent passes share the work and
never repair a goal twice. A batch costs a few statements whatever its size (one per kind of repair);
the attempts it sends again are published once it has committed, never before. Scheduled passes also
take a transaction-level advisory lock, held on a connection of their own for the whole pass, so a slow
pass makes the next one skip instead of piling up.
"""

from __future__ import annotations

import logging
import smtplib
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.mail import mail_admins
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from goals.actors import process_name
from goals.conf import goal_settings
from goals.models import Action, ReconciliationFinding, ReconciliationReport
from goals.reconciler import detect, repair, slots

logger = logging.getLogger(__name__)

# pg_try_advisory_xact_lock key: the bytes "goalrecn" as a bigint.
PASS_LOCK_KEY = int.from_bytes(b"goalrecn", "big") - (1 << 63)
# Result rows finished while the previous pass ran are read again: a small overlap, never a gap.
RESULTS_OVERLAP = timedelta(minutes=5)


@contextmanager
def exclusive_pass() -> Iterator[bool]:
    """Yield whether this process holds the pass lock. The lock lives in a transaction on a separate
    connection, so it is released when the pass ends or the process dies, never left behind."""
    lock_connection = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        lock_connection.set_autocommit(False)
        with lock_connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [PASS_LOCK_KEY])
            acquired = cursor.fetchone()[0]
        yield acquired
    finally:
        lock_connection.rollback()
        lock_connection.close()


def _results_since(now: datetime, lookback: float) -> datetime:
    last = ReconciliationReport.objects.applied().filter(finished_at__isnull=False).order_by("-started_at").first()
    earliest = now - timedelta(seconds=lookback)
    return max(earliest, last.started_at - RESULTS_OVERLAP) if last else earliest


def _finding_row(report: ReconciliationReport, candidate: detect.Candidate, outcome: repair.Repair
                 ) -> ReconciliationFinding:
    evidence = dict(candidate.evidence)
    if outcome.note:
        evidence["note"] = outcome.note
    return ReconciliationFinding(
        report=report, goal_id=candidate.goal_id, task_id=candidate.task_id, kind=candidate.finding,
        action=outcome.action, before_state=candidate.state, after_state=outcome.after_state,
        attempt=candidate.attempt, evidence=evidence,
    )


Decided = list[tuple[detect.Candidate, str]]


def _decide(candidates: list[detect.Candidate]) -> Decided:
    return [(candidate, repair.decide(candidate)) for candidate in candidates]


def _apply(decided: Decided, *, dry_run: bool, actor: str) -> list[repair.Repair]:
    """Repair a batch claimed by the current transaction (a dry run only says what it would do)."""
    if dry_run:
        return [repair.Repair(action, candidate.state, "dry run: nothing changed") for candidate, action in decided]
    repairs = repair.apply_batch(decided, actor=actor)
    transaction.on_commit(partial(repair.revoke_tasks, [r.revoke for r in repairs if r.revoke]))
    return repairs


def _record(report: ReconciliationReport, decided: Decided, repairs: list[repair.Repair], *, dry_run: bool
            ) -> list[ReconciliationFinding]:
    """Once the batch is committed: publish what it sends again, then save its findings as they ended."""
    if not dry_run:
        repairs = repair.send(repairs)
    rows = [_finding_row(report, candidate, outcome) for (candidate, _), outcome in zip(decided, repairs, strict=True)]
    if not dry_run:
        ReconciliationFinding.objects.bulk_create(rows)
    return rows


def run_pass(*, dry_run: bool = False, only: list[str] | None = None, trigger: str = "api",
             now: datetime | None = None) -> tuple[ReconciliationReport, list[ReconciliationFinding]]:
    """Run one pass and return its report and findings (saved unless ``dry_run``: a dry run writes
    nothing at all). ``only`` restricts the pass to these finding kinds."""
    config = goal_settings()
    clock = time.monotonic()
    now = now or timezone.now()
    actor = f"reconciler@{process_name()}"
    since = _results_since(now, config.reconcile_results_lookback)
    goals_scanned, results_scanned = detect.scanned_counts(since=since, now=now)
    report = ReconciliationReport(started_at=timezone.now(), dry_run=dry_run, trigger=trigger, host=actor,
                                  goals_scanned=goals_scanned, results_scanned=results_scanned)
    if not dry_run:
        report.save()
    findings: list[ReconciliationFinding] = []
    after = uuid.UUID(int=0)
    while True:
        with transaction.atomic():
            batch = detect.active_candidates(config=config, now=now, after=after, limit=config.reconcile_batch_size,
                                             lock=not dry_run, only=only)
            decided = _decide(batch)
            repairs = _apply(decided, dry_run=dry_run, actor=actor)
        findings += _record(report, decided, repairs, dry_run=dry_run)
        if len(batch) < config.reconcile_batch_size:
            break
        after = batch[-1].goal_id
    with transaction.atomic():
        decided = _decide(detect.result_candidates(since=since, only=only)
                          + detect.event_candidates(since=since, only=only))
        repairs = _apply(decided, dry_run=dry_run, actor=actor)
    findings += _record(report, decided, repairs, dry_run=dry_run)
    findings += slots.reconcile_slots(report, dry_run=dry_run, actor=actor, only=only)
    _summarize(report, findings, started=clock)
    if not dry_run:
        report.save(update_fields=["finished_at", "findings_by_kind", "actions_by_kind", "needs_review",
                                   "duration_seconds"])
        _notify(report)
    logger.info("%s: %s findings %s, actions %s", report, report.findings_total, report.findings_by_kind,
                report.actions_by_kind)
    return report, findings


def _summarize(report: ReconciliationReport, findings: list[ReconciliationFinding], *, started: float) -> None:
    report.findings_by_kind = dict(Counter(f.kind for f in findings))
    # By value: Action members would log as "Action.FAILED" (a JSON field stores either as its value).
    report.actions_by_kind = dict(Counter(Action(f.action).value for f in findings))
    report.needs_review = sum(1 for f in findings if f.action in (Action.FAILED, Action.FLAGGED))
    report.finished_at = timezone.now()
    report.duration_seconds = round(time.monotonic() - started, 4)


def _notify(report: ReconciliationReport) -> None:
    if not (goal_settings().reconcile_notify and report.needs_review):
        return
    lines = [f"{report} flagged {report.needs_review} goal(s) for review.", "",
             *(f"  {kind}: {count}" for kind, count in sorted(report.findings_by_kind.items())), "",
             "Review them in the admin: goals with 'needs review' set."]
    try:
        mail_admins(f"goaltrack: {report.needs_review} goal(s) need review", "\n".join(lines))
    except (OSError, smtplib.SMTPException) as exc:
        # The report is written and the goals flagged; a mail server that is away must not fail the pass.
        # (Django 6.1 deprecates fail_silently, which hid the error from the log too.)
        logger.warning("could not mail the admins about %s: %s", report, exc)


def scheduled_pass() -> dict[str, Any]:
    """The beat-scheduled pass: skipped (not queued behind) while another scheduled pass runs."""
    with exclusive_pass() as acquired:
        if not acquired:
            logger.info("reconciler pass skipped: another pass holds the lock")
            return {"skipped": True}
        report, _ = run_pass(trigger="schedule")
    return {"report": report.pk, "findings": report.findings_by_kind, "actions": report.actions_by_kind}
