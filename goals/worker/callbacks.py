"""What the worker's task lifecycle hooks do to the goal row (called from ``goals.tasks.GoalTask``).

Each callback is one fenced transition carrying the attempt number of the message that triggered it:
a late, duplicate or out-of-order callback from an older attempt changes nothing and is journaled as
``ignored``.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction

from goals.exceptions import GoalBehindMessage, GoalNotFound
from goals.executors.attempt_rules import after_loss, out_of_attempts
from goals.executors.error_records import stored_error
from goals.executors.registry import declared_concurrency, declared_rates
from goals.families.children import WaitForChildren
from goals.ids import new_task_id
from goals.lifecycle.states import (
    FAIL,
    FAN_IN,
    REDISPATCH,
    RETRY_LATER,
    SCHEDULE_RETRY,
    START,
    SUCCEED,
    WAIT,
    GoalState,
)
from goals.lifecycle.transitions import TransitionOutcome, apply_transition
from goals.logs import goal_extra
from goals.models import AttemptOutcome, Cause
from goals.submitting import timers
from goals.submitting.moves import move
from goals.submitting.review import goal_flag_for_review
from goals.waits.events import WaitForEvent, await_event

logger = logging.getLogger(__name__)

# The finding a redelivered message of a running attempt stands for (the reconciler's would be "stalled").
LOST_WORKER_FINDING = "worker_lost"


def _log_refused(outcome: TransitionOutcome, task_id: str) -> None:
    logger.info("ignored %s of goal %s attempt %s (task %s): goal is %s at attempt %s",
                outcome.transition.name, outcome.goal_id, outcome.expected_attempt, task_id,
                outcome.from_state, outcome.attempt,
                extra=goal_extra(outcome.goal_id, outcome.kind, outcome.expected_attempt))


def attempt_started(*, goal_id: str, attempt: int, task_id: str, worker: str,
                    redelivered: bool) -> TransitionOutcome | None:
    """Mark the attempt running and return what the executor needs, or None if it must not run.

    Raises ``GoalBehindMessage`` when the message is for the next attempt of a goal whose running attempt
    has not recorded its retry yet (the retry's message outran ``on_retry``): the caller hands it back.

    A redelivered message of an attempt that is already running means its worker died mid-run: the
    attempt is closed as ``worker_lost`` and the goal is sent again as the next attempt (or failed, if
    no attempt is left or the executor is not idempotent). The redelivered message itself never runs.

    A goal a limit of its kind holds back (``goals.executors.limits``) is held by the same statement: None,
    and the message is acknowledged; a freed slot admits and sends it, its rate's turn releases it.
    """
    try:
        outcome = apply_transition(START, goal_id=goal_id, attempt=attempt, cause=Cause.EXECUTOR, actor=worker,
                                   caller_task_id=task_id, journal_refusal=True, limits=declared_concurrency(),
                                   rates=declared_rates())
    except GoalNotFound:
        logger.warning("task %s names goal %s, which does not exist (pruned?): not run", task_id, goal_id,
                       extra=goal_extra(goal_id, None, attempt))
        return None
    if outcome.applied:
        return outcome
    if outcome.held:
        logger.info("goal %s attempt %s held by a limit of its kind %s%s", goal_id, attempt, outcome.kind,
                    f" until {outcome.until.isoformat()}" if outcome.until else "",
                    extra=goal_extra(goal_id, outcome.kind, attempt))
        if outcome.until is not None:
            timers.arm_after_commit([outcome.until])  # released at its turn, not at beat's next look
        return None
    _log_refused(outcome, task_id)
    if outcome.from_state == GoalState.RUNNING and outcome.attempt == attempt - 1:
        raise GoalBehindMessage(goal_id, outcome.attempt, attempt)
    if redelivered and outcome.from_state == GoalState.RUNNING and outcome.attempt == attempt:
        _recover_lost_attempt(outcome, task_id=task_id, worker=worker)
    return None


def _recover_lost_attempt(outcome: TransitionOutcome, *, task_id: str, worker: str) -> None:
    goal_id, attempt = outcome.goal_id, outcome.attempt
    lost = stored_error("WorkerLost", f"the worker running attempt {attempt} died")
    # Judged by the executor that ran the lost attempt (a continuation's own), as the reconciler judges it.
    verdict = after_loss(outcome.run_kind, attempt=attempt, max_attempts=outcome.max_attempts, started=True)
    if verdict.runs_again:
        resent = move(REDISPATCH, goal_id=goal_id, attempt=attempt, cause=Cause.EXECUTOR, actor=worker,
                      new_task_id=new_task_id(), error=lost, caller_task_id=task_id,
                      closed_outcome=AttemptOutcome.WORKER_LOST, details={"reason": "redelivered"})
        if resent.applied:
            return
        if not resent.budget_exhausted:
            return  # moved on meanwhile: whoever moved it owns it now
        verdict = out_of_attempts(resent.max_attempts)
    _fail_lost_attempt(outcome, task_id=task_id, worker=worker, lost=lost, reason=verdict.reason)


def _fail_lost_attempt(outcome: TransitionOutcome, *, task_id: str, worker: str, lost: dict[str, str],
                       reason: str) -> None:
    """Fail a goal whose worker died and that must not run again, and flag it for review, together: the
    reconciler does the same for the same goal found later (README: "failed instead of sent again, and
    flagged for review")."""
    error = stored_error(lost["type"], f"{lost['message']}; {reason}")
    with transaction.atomic():
        failed = move(FAIL, goal_id=outcome.goal_id, attempt=outcome.attempt, cause=Cause.EXECUTOR, actor=worker,
                      error=error, closed_outcome=AttemptOutcome.WORKER_LOST, caller_task_id=task_id)
        if failed.applied:
            goal_flag_for_review(goal_id=outcome.goal_id, state=GoalState.FAILED, attempt=failed.attempt,
                                 reason=f"{LOST_WORKER_FINDING}: {reason}", cause=Cause.EXECUTOR, actor=worker,
                                 details={"finding": LOST_WORKER_FINDING, "task_id": task_id})


def _finish(transition_kwargs: dict[str, Any]) -> TransitionOutcome | None:
    """Apply a finishing transition; a refusal is journaled by the statement and logged here. Returns what the
    statement did (None: the goal is gone)."""
    try:
        outcome = move(cause=Cause.EXECUTOR, journal_refusal=True, **transition_kwargs)
    except GoalNotFound:
        logger.warning("callback for goal %s, which does not exist (pruned?)", transition_kwargs["goal_id"],
                       extra=goal_extra(transition_kwargs["goal_id"], None, transition_kwargs["attempt"]))
        return None
    if not outcome.applied:
        _log_refused(outcome, transition_kwargs["caller_task_id"])
    return outcome


def attempt_waiting(*, goal_id: str, attempt: int, task_id: str, worker: str, wait: WaitForChildren,
                    budget: int) -> None:
    """The executor handed back control to its children: the goal waits, holding no worker, with the
    policy and continuation it gave and a fresh budget of ``budget`` attempts for what follows. If its
    children's outcome is known already (they all ended while it was still running), it fans in now."""
    try:
        outcome = move(WAIT, goal_id=goal_id, attempt=attempt, cause=Cause.EXECUTOR, actor=worker,
                       caller_task_id=task_id, journal_refusal=True, budget=budget,
                       failures_allowed=wait.policy.failures_allowed, continuation=wait.then)
    except GoalNotFound:
        logger.warning("callback for goal %s, which does not exist (pruned?)", goal_id,
                       extra=goal_extra(goal_id, None, attempt))
        return
    if not outcome.applied:
        _log_refused(outcome, task_id)
        return
    if outcome.family is None or not outcome.family.outcome_known:
        return  # the last child's final transition fans it in
    # Fenced on waiting at this attempt: if a child's final transition fanned it in meanwhile, refused.
    move(FAN_IN, goal_id=goal_id, attempt=outcome.attempt, cause=Cause.EXECUTOR, actor=worker,
         new_task_id=new_task_id(), details={"children_final": outcome.family.final})


def attempt_awaiting_event(*, goal_id: str, attempt: int, task_id: str, worker: str, wait: WaitForEvent,
                           budget: int) -> None:
    """The executor handed back control until an outside event arrives (``goals.waits.events``)."""
    try:
        outcome = await_event(goal_id=goal_id, attempt=attempt, task_id=task_id, worker=worker, wait=wait,
                              budget=budget)
    except GoalNotFound:
        logger.warning("callback for goal %s, which does not exist (pruned?)", goal_id,
                       extra=goal_extra(goal_id, None, attempt))
        return
    if not outcome.applied:
        _log_refused(outcome, task_id)


# ``result_row`` below is the task's django-celery-results row (``goals.lifecycle.results``), written by the same
# statement when the transition applies; None when Celery stores results itself. ``alone``: the goal has
# no parent and no children, and its end leaves out the family parts (``end_lone_attempt``).


def attempt_succeeded(*, goal_id: str, attempt: int, task_id: str, worker: str, result: Any,
                      progress: tuple[int, int | None, str] | None, result_row: dict[str, Any] | None,
                      alone: bool = False) -> TransitionOutcome | None:
    return _finish({"transition": SUCCEED, "goal_id": goal_id, "attempt": attempt, "actor": worker,
                    "caller_task_id": task_id, "result": result, "set_result": True, "progress": progress,
                    "result_row": result_row, "alone": alone})


def attempt_failed(*, goal_id: str, attempt: int, task_id: str, worker: str, error: dict[str, Any],
                   progress: tuple[int, int | None, str] | None, result_row: dict[str, Any] | None,
                   alone: bool = False) -> None:
    _finish({"transition": FAIL, "goal_id": goal_id, "attempt": attempt, "actor": worker,
             "caller_task_id": task_id, "error": error, "progress": progress, "result_row": result_row,
             "alone": alone})


def attempt_retrying(*, goal_id: str, attempt: int, task_id: str, worker: str, error: dict[str, Any],
                     next_task_id: str, countdown: float, progress: tuple[int, int | None, str] | None,
                     result_row: dict[str, Any] | None, alone: bool = False,
                     run_after: datetime | None = None) -> None:
    """The executor raised and is retried: Celery published the next attempt with its back-off
    (``schedule_retry``), or, given ``run_after``, the next attempt waits as scheduled until then
    (``retry_later``)."""
    _finish({"transition": SCHEDULE_RETRY if run_after is None else RETRY_LATER, "goal_id": goal_id,
             "attempt": attempt, "actor": worker, "caller_task_id": task_id, "new_task_id": next_task_id,
             "error": error, "progress": progress, "details": {"countdown": round(countdown, 3)},
             "result_row": result_row, "alone": alone, "run_after": run_after})
