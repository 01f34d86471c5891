"""Every lifecycle statement prepares on PostgreSQL as written, and the system check says which one
does not."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from goals.checks.statements import check_statements_prepare
from goals.lifecycle import statements

pytestmark = pytest.mark.django_db


def test_every_statement_prepares_as_written():
    assert check_statements_prepare(None, databases=["default"]) == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] == 0, "the check leaves nothing prepared behind"


def test_a_statement_that_does_not_prepare_fails_the_database_check(monkeypatch):
    broken = statements.Statement("broken", "Names a column no table has.", "SELECT no_such_column FROM goals_goal",
                                  statements.SQL_DIR / "moves.sql", {})
    monkeypatch.setitem(statements.STATEMENTS, "broken", broken)
    errors = check_statements_prepare(None, databases=["default"])
    assert [error.id for error in errors] == ["goals.E004"]
    assert "statement broken in moves.sql does not prepare" in errors[0].msg
    monkeypatch.delitem(statements.STATEMENTS, "broken")
    call_command("check", "--database", "default")


def test_the_check_waits_for_migrate_on_a_database_the_app_is_not_migrated_on(monkeypatch):
    """``migrate`` runs the database checks before it migrates: an upgrade's new statements name what its
    migrations have yet to create, so the check speaks only once the app is migrated."""
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.recorder import MigrationRecorder

    [(_, latest)] = MigrationLoader(connection).graph.leaf_nodes("goals")
    MigrationRecorder(connection).record_unapplied("goals", latest)  # rolled back after the test
    broken = statements.Statement("broken", "Names a column no table has.", "SELECT no_such_column FROM goals_goal",
                                  statements.SQL_DIR / "moves.sql", {})
    monkeypatch.setitem(statements.STATEMENTS, "broken", broken)
    assert check_statements_prepare(None, databases=["default"]) == []


def test_the_command_lists_the_statements_and_prints_one_for_psql_to_prepare():
    from io import StringIO

    listed, printed = StringIO(), StringIO()
    call_command("goals_statements", stdout=listed)
    assert [line.split(" ")[0] for line in listed.getvalue().splitlines()] == list(statements.STATEMENTS)
    call_command("goals_statements", "start_attempt", stdout=printed)
    with connection.cursor() as cursor:  # what it prints prepares as it is
        cursor.execute(printed.getvalue())
        cursor.execute("EXPLAIN EXECUTE start_attempt(gen_random_uuid(), '{}', '{}', 1, 'worker', 'task', 'executor',"
                       " true)")
        assert "goals_goal" in " ".join(row[0] for row in cursor.fetchall())
        cursor.execute("DEALLOCATE start_attempt")
