"""``manage.py prune_goals``: delete final goals and reconciliation reports older than N days, and compact
the journals of goals finished more than M days ago."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from goals.management.base import GoalsCommand
from goals.pruning import compact_journals, count_compactable, count_prunable, prune


class Command(GoalsCommand):
    help = ("Delete final goals (with attempts and events) and reports older than --older-than days; compact"
            " the journals of goals finished more than --journal-older-than days ago.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, metavar="DAYS",
                            help="Delete goals finished, and reports started, more than DAYS days ago.")
        parser.add_argument("--journal-older-than", type=int, metavar="DAYS",
                            help="Keep only the summary rows (submit, people's and the reconciler's actions, the"
                                 " last transition) in the journal of goals finished more than DAYS days ago.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")
        parser.add_argument("--batch-size", type=int, default=1000, help="Rows per transaction (default 1000).")

    def handle(self, *args: Any, older_than: int | None, journal_older_than: int | None, dry_run: bool,
               batch_size: int, **options: Any) -> None:
        if older_than is None and journal_older_than is None:
            raise CommandError("say what to prune: --older-than DAYS, --journal-older-than DAYS, or both")
        for option, days in (("--older-than", older_than), ("--journal-older-than", journal_older_than)):
            if days is not None and days < 1:
                raise CommandError(f"{option} must be at least 1 day")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        now = timezone.now()
        if older_than is not None:
            self._prune(now - timedelta(days=older_than), dry_run, batch_size)
        if journal_older_than is not None:
            self._compact(now - timedelta(days=journal_older_than), dry_run, batch_size)

    def _prune(self, cutoff: Any, dry_run: bool, batch_size: int) -> None:
        if dry_run:
            counts = count_prunable(cutoff=cutoff)
            self.stdout.write(f"would delete {counts.goals} final goals and {counts.reports} reports "
                              f"older than {cutoff:%Y-%m-%d %H:%M} (dry run)")
            return
        counts = prune(cutoff=cutoff, batch_size=batch_size)
        self.stdout.write(f"deleted {counts.goals} final goals and {counts.reports} reports "
                          f"older than {cutoff:%Y-%m-%d %H:%M}")

    def _compact(self, cutoff: Any, dry_run: bool, batch_size: int) -> None:
        if dry_run:
            self.stdout.write(f"would delete {count_compactable(cutoff=cutoff)} journal rows of goals finished "
                              f"before {cutoff:%Y-%m-%d %H:%M} (dry run)")
            return
        rows = compact_journals(cutoff=cutoff, batch_size=batch_size)
        self.stdout.write(f"deleted {rows} journal rows of goals finished before {cutoff:%Y-%m-%d %H:%M}")
