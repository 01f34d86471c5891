"""The one rule for what follows an attempt that did not succeed (pure logic, no database)."""

import pytest

from goals.executors.attempt_rules import Next, after_error, after_loss
from goals.executors.registry import get_executor
from tests.executors import Boom


class NotRetried(Exception):
    pass


@pytest.mark.parametrize(("attempt", "error", "expected", "reason"), [
    (1, Boom("x"), Next.RETRY, ""),
    (2, Boom("x"), Next.RETRY, ""),
    (3, Boom("x"), Next.FAIL, "no attempt left of 3"),
    (1, KeyboardInterrupt(), Next.FAIL, "KeyboardInterrupt is not retried by this executor"),
])
def test_an_executor_error_is_retried_while_attempts_are_left_and_the_executor_retries_on_it(
        attempt, error, expected, reason):
    verdict = after_error(get_executor("tests.always_fails"), attempt=attempt, max_attempts=3, error=error)
    assert (verdict.next, verdict.reason) == (expected, reason)


@pytest.mark.parametrize(("kind", "attempt", "started", "expected", "reason"), [
    ("tests.sleeper", 1, True, Next.SEND_AGAIN, ""),
    ("tests.sleeper", 3, True, Next.FAIL, "no attempt left of 3"),
    ("tests.sleeper_once", 1, True, Next.FAIL, "the executor is not idempotent, so it is not run again"),
    # Lost before any worker had it: nothing of its work was done, so even a non-idempotent one goes again.
    ("tests.sleeper_once", 1, False, Next.SEND_AGAIN, ""),
    ("tests.sleeper_once", 3, False, Next.FAIL, "no attempt left of 3"),
    ("tests.nobody_runs_this", 1, False, Next.FAIL, "no executor is registered for kind 'tests.nobody_runs_this'"),
])
def test_a_lost_attempt_is_sent_again_unless_it_may_have_done_part_of_its_work_or_none_is_left(
        kind, attempt, started, expected, reason):
    verdict = after_loss(kind, attempt=attempt, max_attempts=3, started=started)
    assert (verdict.next, verdict.reason, verdict.runs_again) == (expected, reason, expected is not Next.FAIL)
