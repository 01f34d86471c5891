"""What follows an attempt that did not succeed: the goal runs again, or it fails.

The one rule for the three places that end an attempt without a success. The executor raised (the
worker, ``goals.tasks``): retried after a back-off while attempts are left and the error is one the
executor retries on. A worker died under the attempt and its message came back (``goals.worker.callbacks``),
or the reconciler found the attempt dead or lost in its queue (``goals.reconciler.repair``): sent again
now, as the next attempt, unless it may have done part of its work and its executor is not idempotent,
or no attempt is left, or no executor runs its kind. A lost attempt that is not run again is failed and
flagged for review, with the same reason whoever found it, so a reviewer reads one wording.

The attempt budget is also a fence in the database: the moves that open an attempt on their own are
``bounded`` (``goals.lifecycle.states``), so a goal decided on stale figures is still never run past its budget.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from goals.exceptions import ChildrenOutcomeError, UnknownExecutor
from goals.executors.registry import ExecutorSpec, get_executor


class Next(enum.StrEnum):
    RETRY = "retry"
    """The executor's error is retried: the next attempt, after its back-off."""
    SEND_AGAIN = "send_again"
    """The attempt was lost: the next attempt, sent now."""
    FAIL = "fail"
    """The goal fails; after a lost attempt it is also flagged for review."""


@dataclass(frozen=True)
class Verdict:
    next: Next
    # Why the goal is not run again (the failure's message and the review flag's reason); empty otherwise.
    reason: str = ""

    @property
    def runs_again(self) -> bool:
        return self.next is not Next.FAIL


def out_of_attempts(max_attempts: int) -> Verdict:
    return Verdict(Next.FAIL, f"no attempt left of {max_attempts}")


def after_error(spec: ExecutorSpec, *, attempt: int, max_attempts: int, error: BaseException) -> Verdict:
    """The executor of attempt ``attempt`` raised ``error``."""
    if isinstance(error, ChildrenOutcomeError):
        return Verdict(Next.FAIL, "decided by its children, whose own attempts were retried already")
    if not isinstance(error, spec.retry_on):
        return Verdict(Next.FAIL, f"{type(error).__name__} is not retried by this executor")
    if attempt >= max_attempts:
        return out_of_attempts(max_attempts)
    return Verdict(Next.RETRY)


def after_loss(kind: str, *, attempt: int, max_attempts: int, started: bool) -> Verdict:
    """Attempt ``attempt`` of a goal of ``kind`` was lost: its worker died (``started``) or its message
    never reached one (not ``started``: nothing of its work can have been done)."""
    try:
        spec = get_executor(kind)
    except UnknownExecutor:
        return Verdict(Next.FAIL, f"no executor is registered for kind {kind!r}")
    if started and not spec.idempotent:
        return Verdict(Next.FAIL, "the executor is not idempotent, so it is not run again")
    if attempt >= max_attempts:
        return out_of_attempts(max_attempts)
    return Verdict(Next.SEND_AGAIN)
