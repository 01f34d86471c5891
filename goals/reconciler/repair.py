"""Deciding and applying the repair of one finding, through the same transitions as everything else.

``decide`` is pure (a dry run reports it as what would be done); ``apply`` carries it out inside the
transaction that claimed the goal, so two reconcilers never repair the same goal twice, and every
change is fenced on state and attempt and journaled with cause ``reconciler``.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from celery import current_app

from goals.exceptions import UnknownExecutor
from goals.models import Action, AttemptOutcome, Cause, Finding
from goals.reconciler.detect import Candidate
from goals.registry import get_executor
from goals.review import goal_flag_for_review
from goals.services import goal_dispatch
from goals.states import EXPIRE, FAIL, REDISPATCH, SUCCEED, GoalState
from goals.transitions import apply_transition

logger = logging.getLogger(__name__)

# Findings that mean the attempt is dead; what its attempt row is closed as.
_DEAD_ATTEMPT = {
    Finding.STALLED: AttemptOutcome.WORKER_LOST,
    Finding.RESULT_MISSING: AttemptOutcome.WORKER_LOST,
    Finding.LOST_IN_QUEUE: AttemptOutcome.ABANDONED,
}


@dataclass(frozen=True)
class Repair:
    action: str
    after_state: str
    note: str = ""
    # A task to revoke once the repair is committed (the pass revokes a batch's tasks in one broadcast).
    revoke: str = ""


def _idempotent(kind: str) -> bool | None:
    try:
        return get_executor(kind).idempotent
    except UnknownExecutor:
        return None


def decide(candidate: Candidate) -> str:
    """The action a finding calls for, from the evidence alone."""
    finding = candidate.finding
    if finding == Finding.LOST_CALLBACK:
        if candidate.result_status == "FAILURE":
            return Action.APPLIED_FAILURE
        return Action.APPLIED_SUCCESS if candidate.state == GoalState.RUNNING else Action.FLAGGED
    if finding in _DEAD_ATTEMPT:
        idempotent = _idempotent(candidate.kind)
        if idempotent is None:
            return Action.FAILED
        if not idempotent and finding != Finding.LOST_IN_QUEUE:
            return Action.FAILED  # may have done part of its work: a person decides whether to run it again
        return Action.REDISPATCHED if candidate.attempt < candidate.max_attempts else Action.FAILED
    if finding == Finding.NEVER_SENT:
        return Action.SENT if _idempotent(candidate.kind) is not None else Action.FAILED
    if finding == Finding.OVERDUE:
        return Action.EXPIRED
    if finding == Finding.MISMATCH:
        return Action.FLAGGED
    return Action.REPORTED


def _stored_error(candidate: Candidate) -> dict[str, Any]:
    try:
        payload = json.loads(candidate.result or "null") or {}
    except ValueError:
        payload = {}
    exc_type = payload.get("exc_type", "Exception")
    module = payload.get("exc_module", "")
    message = payload.get("exc_message", "")
    if isinstance(message, list | tuple):
        message = " ".join(str(part) for part in message)
    return {
        "type": f"{module}.{exc_type}" if module and module != "builtins" else exc_type,
        "message": str(message)[:2000],
        "traceback": (candidate.traceback or "")[-20000:],
    }


def _reason(candidate: Candidate) -> str:
    if candidate.finding == Finding.LOST_CALLBACK:
        return f"task result says {candidate.result_status} while the goal is {candidate.state}"
    if candidate.finding == Finding.MISMATCH:
        return f"goal is {candidate.state} but its task result says {candidate.result_status}"
    idempotent = _idempotent(candidate.kind)
    if idempotent is None:
        return f"{candidate.finding}: no executor is registered for kind {candidate.kind!r}"
    if not idempotent and candidate.finding != Finding.LOST_IN_QUEUE:
        return f"{candidate.finding}: the executor is not idempotent, so it is not run again"
    return f"{candidate.finding}: no attempt left of {candidate.max_attempts}"


def apply(candidate: Candidate, action: str, *, actor: str) -> Repair:
    """Carry out ``action``; called inside the transaction holding the goal's row lock."""
    if candidate.moved_to:
        return Repair(Action.SKIPPED, candidate.moved_to)
    common = {"goal_id": candidate.goal_id, "attempt": candidate.attempt, "cause": Cause.RECONCILER,
              "actor": actor, "details": {"finding": candidate.finding, "task_result": candidate.result_status}}
    if action == Action.APPLIED_SUCCESS:
        result = json.loads(candidate.result) if candidate.result else None
        outcome = apply_transition(SUCCEED, result=result, set_result=True, **common)
    elif action == Action.APPLIED_FAILURE:
        outcome = apply_transition(FAIL, error=_stored_error(candidate), **common)
    elif action == Action.EXPIRED:
        outcome = apply_transition(EXPIRE, **common)
        if outcome.applied:
            return Repair(Action.EXPIRED, outcome.state, revoke=candidate.task_id)
    elif action == Action.SENT:
        sent = goal_dispatch(goal_id=candidate.goal_id, attempt=candidate.attempt, task_id=candidate.task_id,
                             kind=candidate.kind)
        return Repair(Action.SENT if sent else Action.SEND_FAILED, GoalState.QUEUED if sent else GoalState.PENDING)
    elif action == Action.REDISPATCHED:
        outcome = apply_transition(REDISPATCH, new_task_id=str(uuid.uuid4()),
                                   closed_outcome=_DEAD_ATTEMPT[candidate.finding], **common)
        if outcome.applied:
            sent = goal_dispatch(goal_id=candidate.goal_id, attempt=outcome.attempt, task_id=outcome.task_id,
                                 kind=candidate.kind)
            return Repair(Action.REDISPATCHED, GoalState.QUEUED if sent else GoalState.PENDING,
                          "" if sent else "broker unreachable: sent on a later pass")
        if outcome.budget_exhausted:
            return apply(candidate, Action.FAILED, actor=actor)
    elif action == Action.FAILED:
        error = {"type": f"goals.reconciler.{candidate.finding}", "message": _reason(candidate), "traceback": ""}
        outcome = apply_transition(FAIL, error=error, closed_outcome=_DEAD_ATTEMPT.get(candidate.finding), **common)
        if outcome.applied:
            goal_flag_for_review(goal_id=candidate.goal_id, state=outcome.state, attempt=outcome.attempt,
                                 reason=_reason(candidate), cause=Cause.RECONCILER, actor=actor,
                                 details=common["details"])
    elif action == Action.FLAGGED:
        flagged = goal_flag_for_review(goal_id=candidate.goal_id, state=candidate.state, attempt=candidate.attempt,
                                       reason=_reason(candidate), cause=Cause.RECONCILER, actor=actor,
                                       details=common["details"])
        return Repair(Action.FLAGGED if flagged else Action.SKIPPED, candidate.state)
    else:
        return Repair(action, candidate.state)
    if not outcome.applied:
        return Repair(Action.SKIPPED, outcome.state)
    return Repair(action, outcome.state)


def revoke_tasks(task_ids: list[str]) -> None:
    """Tell the workers to drop these attempts' messages if still queued (one broadcast); a running
    executor stops at its next progress report, since its goal is no longer running."""
    if not task_ids:
        return
    try:
        current_app.control.revoke(task_ids)
    except Exception:  # the goals are final either way; a message delivered later is fenced off
        logger.warning("could not revoke %d task(s) of expired goals", len(task_ids), exc_info=True)
