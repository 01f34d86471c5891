"""Every lifecycle statement prepares on PostgreSQL as written, and the system check says which one
does not."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from goals.checks import check_statements_prepare
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
    from django.db.migrations.recorder import MigrationRecorder

    MigrationRecorder(connection).record_unapplied("goals", "0014_rule_functions")  # rolled back after the test
    broken = statements.Statement("broken", "Names a column no table has.", "SELECT no_such_column FROM goals_goal",
                                  statements.SQL_DIR / "moves.sql", {})
    monkeypatch.setitem(statements.STATEMENTS, "broken", broken)
    assert check_statements_prepare(None, databases=["default"]) == []
