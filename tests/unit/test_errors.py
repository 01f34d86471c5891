"""The stored form of an error (pure logic, no database): a retried attempt's traceback without Celery's Retry."""

from __future__ import annotations

import pytest
from billiard.einfo import ExceptionInfo
from celery.exceptions import Retry

from goals.executors.error_records import error_record


class Planned(Exception):
    pass


def executor() -> None:
    raise Planned("the executor's own failure")


def retry_like_celery(exc: BaseException) -> None:
    # What ``Task.retry`` does: build the Retry and raise it, still inside the caller's ``except`` block.
    raise Retry(exc=exc, when=5)


def retried_einfo(*, direct_cause: bool) -> tuple[BaseException, ExceptionInfo]:
    """The original exception and the ``einfo`` Celery hands ``on_retry`` (``trace.handle_retry``)."""
    try:
        try:
            executor()
        except Planned as exc:
            if direct_cause:
                raise Retry(exc=exc, when=5) from exc
            retry_like_celery(exc)
    except Retry as retry:
        return retry.exc, ExceptionInfo()
    raise AssertionError("no Retry raised")


@pytest.mark.parametrize("direct_cause", [False, True], ids=["during-handling", "direct-cause"])
def test_a_retried_attempts_traceback_ends_at_the_executors_exception(direct_cause):
    exc, einfo = retried_einfo(direct_cause=direct_cause)
    assert "celery.exceptions.Retry" in einfo.traceback, "the traceback Celery formats ends in the Retry"
    stored = error_record(exc, einfo.traceback)["traceback"]
    assert stored.startswith("Traceback (most recent call last):")
    assert 'raise Planned("the executor\'s own failure")' in stored
    assert stored.endswith("Planned: the executor's own failure\n")
    assert "Retry" not in stored
    assert "above exception" not in stored


def test_a_chain_of_the_executors_own_is_kept_whole():
    try:
        try:
            executor()
        except Planned as exc:
            raise ValueError("raised while handling it") from exc
    except ValueError as exc:
        text = ExceptionInfo().traceback
        stored = error_record(exc, text)["traceback"]
    assert stored == text
    assert "Planned: the executor's own failure" in stored
    assert stored.endswith("ValueError: raised while handling it\n")


def test_without_celerys_traceback_the_exception_is_formatted_and_typed():
    try:
        executor()
    except Planned as exc:
        record = error_record(exc)
    assert record["type"] == f"{__name__}.Planned"
    assert record["message"] == "the executor's own failure"
    assert record["traceback"].endswith("Planned: the executor's own failure\n")
