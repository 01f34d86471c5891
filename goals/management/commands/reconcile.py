"""``manage.py reconcile``: one reconciler pass from the command line (the scheduled task runs the same)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser

from goals.management.base import GoalsCommand
from goals.models import Action, Finding
from goals.reconciler.export import findings_as_csv, report_as_dict
from goals.reconciler.passes import run_pass


class Command(GoalsCommand):
    help = "Cross-check goals against Celery task results, repair what is safe, flag the rest, write a report."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Find and report only; write nothing.")
        output = parser.add_mutually_exclusive_group()
        output.add_argument("--json", action="store_true", help="Print the report and its findings as JSON.")
        output.add_argument("--csv", action="store_true", help="Print the findings as CSV.")
        parser.add_argument("--kind", action="append", dest="kinds", metavar="K",
                            help=f"Only this finding kind (repeatable): {', '.join(Finding.values)}.")

    def handle(self, *args: Any, dry_run: bool, json: bool, csv: bool, kinds: list[str] | None,
               **options: Any) -> None:
        unknown = sorted(set(kinds or []) - set(Finding.values))
        if unknown:
            raise CommandError(f"unknown finding kind {', '.join(unknown)}; choose from {', '.join(Finding.values)}")
        report, findings = run_pass(dry_run=dry_run, only=kinds, trigger="command")
        if json:
            self.stdout.write(_dumps(report_as_dict(report, findings)))
        elif csv:
            self.stdout.write(findings_as_csv(findings), ending="")
        else:
            self._summary(report, findings)

    def _summary(self, report: Any, findings: list[Any]) -> None:
        what = "would be" if report.dry_run else "done"
        self.stdout.write(f"{report}: scanned {report.goals_scanned} active goals, "
                          f"{report.results_scanned} recent task results, in {report.duration_seconds:.3f}s")
        if not findings:
            self.stdout.write(self.style.SUCCESS("nothing to reconcile"))
            return
        for f in findings:
            self.stdout.write(f"  {f.kind:<15} {f.goal_id or f.task_id}  {f.before_state or '-'} -> "
                              f"{f.after_state or '-'}  {what}: {Action(f.action).label}")
        if report.needs_review:
            flagged = "would be flagged" if report.dry_run else "flagged"
            self.stdout.write(self.style.WARNING(f"{report.needs_review} goal(s) {flagged} for review"))
        if report.dry_run:
            self.stdout.write("dry run: nothing was changed or saved")


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2)
