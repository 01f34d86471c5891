"""``manage.py goals_kinds``: see and control the kinds of goals from a shell, as the on-call person does.

    manage.py goals_kinds                                       # every kind: limit, paused, running, held
    manage.py goals_kinds pause exports.build --reason "partner API down" [--actor NAME]
    manage.py goals_kinds resume exports.build [--reason ...]
    manage.py goals_kinds concurrency exports.build 2          # or "default": the executor's own
    manage.py goals_kinds rate partner.sync 100/m               # or "default"

Each change is journaled with ``--actor`` (default: the shell's user) and the reason, and takes effect on
every worker at the next start, with no restart.
"""

from __future__ import annotations

import getpass
from typing import Any

from django.core.management.base import CommandError, CommandParser

from goals.exceptions import GoalValidationError
from goals.management.base import GoalsCommand
from goals.models import Cause
from goals.selectors import kind_statuses
from goals.submitting import controls


def _limit(text: str) -> int | None:
    if text == "default":
        return None
    try:
        return int(text)
    except ValueError:
        raise CommandError(f"the limit must be a positive integer or 'default', not {text!r}") from None


class Command(GoalsCommand):
    help = "List the kinds of goals with their limits and held goals; pause, resume or limit one."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", nargs="?", choices=["list", "pause", "resume", "concurrency", "rate"],
                            default="list")
        parser.add_argument("kind", nargs="?", help="The kind to change.")
        parser.add_argument("limit", nargs="?", help="concurrency: a positive integer; rate: '<count>/<unit>' "
                                                     "(e.g. 100/m); or 'default'.")
        parser.add_argument("--reason", default="", help="Why (required to pause): kept in the kind's journal.")
        parser.add_argument("--actor", default="", help="Who, for the journal (default: the shell's user).")

    def handle(self, *args: Any, action: str, kind: str | None, limit: str | None, reason: str, actor: str,
               **options: Any) -> None:
        if action == "list":
            self._list()
            return
        if not kind:
            raise CommandError(f"{action} needs a kind")
        actor = actor or f"{getpass.getuser()} (manage.py)"
        try:
            if action == "pause":
                changed = controls.pause(kind=kind, actor=actor, reason=reason)
                self.stdout.write(f"{kind} paused" if changed else f"{kind} was paused already")
            elif action == "resume":
                resumed = controls.resume(kind=kind, actor=actor, cause=Cause.ADMIN, reason=reason)
                self.stdout.write(f"{kind} resumed; {resumed} held goal(s) sent")
            elif action == "rate":
                if limit is None:
                    raise CommandError("rate needs a rate: '<count>/<unit>' (e.g. 100/m), or 'default'")
                control = controls.set_rate(kind=kind, rate=None if limit == "default" else limit, actor=actor,
                                            reason=reason)
                self.stdout.write(f"{kind} rate: {control.rate}/{control.rate_period:g}s" if control.rate
                                  else f"{kind} rate: the executor's own")
            else:
                if limit is None:
                    raise CommandError("concurrency needs a limit: a positive integer, or 'default'")
                control = controls.set_concurrency(kind=kind, limit=_limit(limit), actor=actor, cause=Cause.ADMIN,
                                                   reason=reason)
                limit_text = control.concurrency or "the executor's own"
                self.stdout.write(f"{kind} concurrency: {limit_text}")
        except GoalValidationError as exc:
            raise CommandError("; ".join(f"{field}: {' '.join(problems)}"
                                         for field, problems in exc.message_dict.items())) from None

    def _list(self) -> None:
        self.stdout.write(f"{'kind':40} {'limit':>6} {'rate':>10} {'running':>8} {'held':>6}  paused")
        for status in kind_statuses():
            limit = "-" if status.limit is None else str(status.limit)
            rate = f"{status.rate[0]}/{status.rate[1]:g}s" if status.rate else "-"
            paused = f"yes, by {status.paused_by}: {status.pause_reason}" if status.paused else "no"
            self.stdout.write(f"{status.kind:40} {limit:>6} {rate:>10} {status.running:>8} {status.held:>6}  "
                              f"{paused}")
