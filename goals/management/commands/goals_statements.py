"""``manage.py goals_statements [NAME]``: the lifecycle's statements, for a reader or for ``psql``.

Without a name, lists every statement with its file and description. With one, prints it as
``PREPARE name (types) AS ...;`` so that ``psql`` can prepare it as written and ``EXPLAIN EXECUTE`` it::

    python manage.py goals_statements move_goals > move_goals.sql
    psql -f move_goals.sql -c "EXPLAIN EXECUTE move_goals(...)"
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from goals.lifecycle.statements import STATEMENTS, prepare_sql


class Command(BaseCommand):
    help = "List the statements that write goals, or print one as PREPARE ... AS for psql."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="A statement's name, e.g. move_goals.")

    def handle(self, *args: Any, name: str | None, **options: Any) -> None:
        if name is None:
            for statement in STATEMENTS.values():
                self.stdout.write(f"{statement.name} ({statement.path.name}): {statement.description}")
            return
        if name not in STATEMENTS:
            raise CommandError(f"no statement named {name!r}; known: {', '.join(STATEMENTS)}")
        self.stdout.write(prepare_sql(name))
