"""``manage.py prune_goals``: delete final goals and reconciliation reports older than N days."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone

from goals.management.base import GoalsCommand
from goals.pruning import count_prunable, prune


class Command(GoalsCommand):
    help = "Delete final goals (with attempts and events) and reports older than --older-than days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS",
                            help="Delete goals finished, and reports started, more than DAYS days ago.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")
        parser.add_argument("--batch-size", type=int, default=1000, help="Rows per transaction (default 1000).")

    def handle(self, *args: Any, older_than: int, dry_run: bool, batch_size: int, **options: Any) -> None:
        if older_than < 1:
            raise CommandError("--older-than must be at least 1 day")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        cutoff = timezone.now() - timedelta(days=older_than)
        if dry_run:
            counts = count_prunable(cutoff=cutoff)
            self.stdout.write(f"would delete {counts.goals} final goals and {counts.reports} reports "
                              f"older than {cutoff:%Y-%m-%d %H:%M} (dry run)")
            return
        counts = prune(cutoff=cutoff, batch_size=batch_size)
        self.stdout.write(f"deleted {counts.goals} final goals and {counts.reports} reports "
                          f"older than {cutoff:%Y-%m-%d %H:%M}")
