"""``goals.db.retry_while_unreachable``: what the worker's callbacks do while PostgreSQL is away (the
fault-injection scenario ``database-down`` shows it against a real outage)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, OperationalError


def flaky(failures: int, error: Exception):
    calls = []

    def write():
        calls.append(1)
        if len(calls) <= failures:
            raise error
        return "written"

    return write, calls


def test_a_write_the_database_refused_twice_is_made_the_third_time():
    from goals.db import retry_while_unreachable

    write, calls = flaky(2, OperationalError("connection refused"))
    assert retry_while_unreachable(write, within=5.0, what="test") == "written"
    assert len(calls) == 3


def test_an_outage_longer_than_the_wait_raises_the_last_error():
    from goals.db import retry_while_unreachable

    write, calls = flaky(100, OperationalError("connection refused"))
    with pytest.raises(OperationalError):
        retry_while_unreachable(write, within=0.5, what="test")
    assert 2 <= len(calls) < 100


def test_an_error_of_the_statement_itself_is_not_retried():
    from goals.db import retry_while_unreachable

    write, calls = flaky(1, IntegrityError("duplicate key"))
    with pytest.raises(IntegrityError):
        retry_while_unreachable(write, within=5.0, what="test")
    assert len(calls) == 1


@pytest.mark.django_db(transaction=True)
def test_progress_while_the_database_is_away_is_dropped_not_raised_into_the_executor():
    """A 5 s outage must not cost a running goal an attempt: ``ctx.progress`` is a hint. Django's
    connection goes through a proxy that is cut, then restored, as a real outage would."""
    from urllib.parse import urlsplit

    from django.db import connection

    from faults.proxy import CuttableProxy
    from goals.lifecycle.states import GoalState
    from goals.worker.context import ExecutionContext
    from tests.conftest import database_url
    from tests.factories import make_goal

    goal = make_goal(state=GoalState.RUNNING)
    proxy = CuttableProxy(database_url(connection.settings_dict)).start()
    original = dict(connection.settings_dict)
    address = urlsplit(proxy.url)
    connection.close()
    connection.settings_dict.update(HOST=address.hostname, PORT=address.port, OPTIONS={})
    try:
        ctx = ExecutionContext(goal_id=goal.pk, attempt=goal.attempt, kind=goal.kind, interval=0)
        ctx.progress(1, 3, "before the outage")
        proxy.cut()
        ctx.progress(2, 3, "during the outage")  # raised OperationalError into the executor before
        assert ctx.progress_values == (2, 3, "during the outage"), "kept for the next write or the final state"
        proxy.restore()
        ctx.progress(3, 3, "after the outage")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
        proxy.close()
    goal.refresh_from_db()
    assert (goal.progress_current, goal.progress_message) == (3, "after the outage")
