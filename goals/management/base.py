"""The base of goaltrack's management commands: they refuse, with the fix, a database not migrated yet.

Without it, ``manage.py reconcile`` on a fresh database (a new clone's embedded PostgreSQL, a project
that added the app but did not migrate) ends in a ``ProgrammingError`` traceback about a missing table.
Django's own check only prints a notice and runs on; these commands cannot do anything useful then.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from goals.required_apps import REQUIRED_APPS

# The apps whose tables the commands read and write.
_APPS = {"goals", *REQUIRED_APPS}


class GoalsCommand(BaseCommand):
    requires_migrations_checks = True

    def check_migrations(self) -> None:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        pending = sorted({migration.app_label for migration, _ in plan} & _APPS)
        if pending:
            raise CommandError(f"the database is not migrated for {', '.join(pending)}: "
                               "run `python manage.py migrate` first")
