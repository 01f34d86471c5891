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
