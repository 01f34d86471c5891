"""Reports as JSON and CSV, for the ``reconcile`` command and the admin's export actions."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from goals.models import ReconciliationFinding, ReconciliationReport

FINDING_COLUMNS = ["report", "goal_id", "task_id", "kind", "action", "before_state", "after_state", "attempt",
                   "evidence"]


def report_as_dict(report: ReconciliationReport, findings: Iterable[ReconciliationFinding]) -> dict[str, Any]:
    return {
        "id": report.pk,
        "started_at": report.started_at.isoformat(),
        "finished_at": report.finished_at.isoformat() if report.finished_at else None,
        "dry_run": report.dry_run,
        "trigger": report.trigger,
        "host": report.host,
        "goals_scanned": report.goals_scanned,
        "results_scanned": report.results_scanned,
        "findings_by_kind": report.findings_by_kind,
        "actions_by_kind": report.actions_by_kind,
        "needs_review": report.needs_review,
        "duration_seconds": report.duration_seconds,
        "findings": [
            {
                "goal_id": str(f.goal_id) if f.goal_id else None,
                "task_id": f.task_id,
                "kind": f.kind,
                "action": f.action,
                "before_state": f.before_state,
                "after_state": f.after_state,
                "attempt": f.attempt,
                "evidence": f.evidence,
            }
            for f in findings
        ],
    }


def reports_as_json(reports: Iterable[ReconciliationReport]) -> str:
    return json.dumps([report_as_dict(r, r.findings.all()) for r in reports], indent=2)


def findings_as_csv(findings: Iterable[ReconciliationFinding]) -> str:
    """One row per finding; the evidence as a JSON cell."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(FINDING_COLUMNS)
    for f in findings:
        writer.writerow([f.report_id or "", f.goal_id or "", f.task_id, f.kind, f.action, f.before_state,
                         f.after_state, f.attempt if f.attempt is not None else "",
                         json.dumps(f.evidence, sort_keys=True)])
    return out.getvalue()
