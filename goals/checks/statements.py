"""The database check of the lifecycle's statements (``goals/lifecycle/sql``)."""

from __future__ import annotations

from typing import Any

from django.core.checks import Error, Tags, register


@register(Tags.database)
def check_statements_prepare(app_configs: Any, databases: Any = None, **kwargs: Any) -> list[Error]:
    """PostgreSQL prepares every lifecycle statement (``goals/lifecycle/sql``) as it is written: run by
    ``manage.py check --database default`` and ``migrate``, so an edit that does not parse, or names a
    column the schema lacks, fails there and not at the first callback."""
    from django.db import DatabaseError, connections, transaction

    from goals.lifecycle.statements import STATEMENTS, prepare_sql

    errors = []
    for alias in databases or ():
        if not _migrated(connections[alias]):
            continue  # before ``migrate`` has brought the schema the statements are written for
        with connections[alias].cursor() as cursor:
            for name, statement in STATEMENTS.items():
                try:
                    with transaction.atomic(using=alias):  # a failure leaves the connection usable
                        cursor.execute(prepare_sql(name))
                        cursor.execute(f"DEALLOCATE {name}")
                except DatabaseError as exc:
                    errors.append(Error(f"statement {name} in {statement.path.name} does not prepare: {exc}",
                                        id="goals.E004"))
    return errors


def _migrated(connection: Any) -> bool:
    """Whether every migration of the app is applied on ``connection``."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection, ignore_no_migrations=True)
    return all(leaf in loader.applied_migrations for leaf in loader.graph.leaf_nodes("goals"))
