"""Deciding and applying the repair of one finding, through the same transitions as everything else.

``decide`` is pure (a dry run reports it as what would be done); ``apply_batch`` carries a batch's
decisions out inside the transaction that claimed the goals, so two reconcilers never repair the same
goal twice, and every change is fenced on state and attempt and journaled with cause ``reconciler``;
``send`` publishes what the repairs send again once that transaction has committed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from celery import current_app

from goals.executors.attempt_rules import Verdict, after_loss, out_of_attempts
from goals.executors.error_records import stored_error
from goals.executors.registry import registered_kinds
from goals.ids import new_task_id
from goals.lifecycle.states import CANCEL, EXPIRE, FAIL, FAN_IN, REDISPATCH, RELEASE, SUCCEED, TIME_OUT, GoalState
from goals.lifecycle.transitions import GoalMove, TransitionOutcome
from goals.models import Action, AttemptOutcome, Cause, Finding
from goals.reconciler.detect import Candidate
from goals.submitting.moves import move_many
from goals.submitting.publish import Dispatch, publish_attempts
from goals.submitting.review import Flag, goals_flag_for_review

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
    # An attempt to publish once the repair is committed (``send``).
    send: Dispatch | None = None
    # Attempts of parents this repair's move fanned in, published with it (not reported on their own).
    also_send: tuple[Dispatch, ...] = ()


def _loss_verdict(candidate: Candidate) -> Verdict:
    """What ``goals.executors.attempt_rules`` says of a dead or lost attempt (one lost in its queue never
    started)."""
    return after_loss(candidate.kind, attempt=candidate.attempt, max_attempts=candidate.max_attempts,
                      started=candidate.finding != Finding.LOST_IN_QUEUE)


def decide(candidate: Candidate) -> str:
    """The action a finding calls for, from the evidence alone."""
    finding = candidate.finding
    if finding == Finding.LOST_CALLBACK:
        if candidate.result_status == "FAILURE":
            return Action.APPLIED_FAILURE
        return Action.APPLIED_SUCCESS if candidate.state == GoalState.RUNNING else Action.FLAGGED
    if finding in _DEAD_ATTEMPT:
        return Action.REDISPATCHED if _loss_verdict(candidate).runs_again else Action.FAILED
    if finding == Finding.NEVER_SENT:
        # The attempt is sent as it is (it never left): only a kind nothing can run fails.
        return Action.SENT if candidate.kind in registered_kinds() else Action.FAILED
    if finding in (Finding.OVERDUE, Finding.WAITING_OVERDUE):
        return Action.EXPIRED  # a parent's expiry cancels its active descendants
    if finding == Finding.MISSED_FAN_IN:
        return Action.FANNED_IN
    if finding == Finding.DUE_NOT_RELEASED:
        return Action.RELEASED  # then sent, as beat's release would have
    if finding == Finding.WAIT_EXPIRED:
        return Action.TIMED_OUT
    if finding == Finding.ORPHANED_CHILD:
        return Action.CANCELLED
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
    return stored_error(f"{module}.{exc_type}" if module and module != "builtins" else exc_type, str(message),
                        candidate.traceback or "")


def _reason(candidate: Candidate) -> str:
    if candidate.finding == Finding.LOST_CALLBACK:
        return f"task result says {candidate.result_status} while the goal is {candidate.state}"
    if candidate.finding == Finding.MISMATCH:
        return f"goal is {candidate.state} but its task result says {candidate.result_status}"
    verdict = _loss_verdict(candidate)
    if verdict.runs_again:
        # Asked only when its re-dispatch was refused for want of an attempt (``apply_batch``).
        verdict = out_of_attempts(candidate.max_attempts)
    return f"{candidate.finding}: {verdict.reason}"


def _details(candidate: Candidate) -> dict[str, Any]:
    return {"finding": candidate.finding, "task_result": candidate.result_status}


def _failure(candidate: Candidate) -> GoalMove:
    error = stored_error(f"goals.reconciler.{candidate.finding}", _reason(candidate))
    return GoalMove(goal_id=candidate.goal_id, attempt=candidate.attempt, details=_details(candidate), error=error,
                    closed_outcome=_DEAD_ATTEMPT.get(candidate.finding))


def _move(candidate: Candidate, action: str) -> GoalMove:
    """The fenced move that ``action`` makes of the goal, with the values it brings."""
    common = {"goal_id": candidate.goal_id, "attempt": candidate.attempt, "details": _details(candidate)}
    if action == Action.APPLIED_SUCCESS:
        return GoalMove(result=json.loads(candidate.result) if candidate.result else None, **common)
    if action == Action.APPLIED_FAILURE:
        return GoalMove(error=_stored_error(candidate), **common)
    if action == Action.REDISPATCHED:
        return GoalMove(new_task_id=new_task_id(), closed_outcome=_DEAD_ATTEMPT[candidate.finding], **common)
    if action == Action.FAILED:
        return _failure(candidate)
    if action in (Action.FANNED_IN, Action.TIMED_OUT):
        return GoalMove(new_task_id=new_task_id(), **common)
    return GoalMove(**common)


# The transition each repairing action applies; the order matters: a re-dispatch refused for want of an
# attempt becomes a failure, applied after it.
_TRANSITION_OF = {
    Action.APPLIED_SUCCESS: SUCCEED,
    Action.APPLIED_FAILURE: FAIL,
    Action.EXPIRED: EXPIRE,
    Action.REDISPATCHED: REDISPATCH,
    Action.FAILED: FAIL,
    Action.FANNED_IN: FAN_IN,
    Action.CANCELLED: CANCEL,
    Action.RELEASED: RELEASE,
    Action.TIMED_OUT: TIME_OUT,
}


def apply_batch(decided: list[tuple[Candidate, str]], *, actor: str) -> list[Repair]:
    """Carry out each candidate's action, inside the transaction holding the claimed goals' rows.

    Set-based: one fenced, journaled statement per transition for the whole batch, and one statement
    for the review flags. Nothing is published here: a repair that sends an attempt carries it in
    ``Repair.send``, for ``send`` once the batch is committed. A candidate appears once per batch.
    """
    repairs: dict[int, Repair] = {}
    pending: dict[str, list[int]] = {action: [] for action in _TRANSITION_OF}
    flags: dict[int, Flag] = {}
    for index, (candidate, action) in enumerate(decided):
        if candidate.moved_to:
            repairs[index] = Repair(Action.SKIPPED, candidate.moved_to)
        elif action in pending:
            pending[action].append(index)
        elif action == Action.SENT:
            repairs[index] = Repair(Action.SENT, candidate.state, send=Dispatch(
                goal_id=candidate.goal_id, attempt=candidate.attempt, task_id=candidate.task_id, kind=candidate.kind))
        elif action == Action.FLAGGED:
            flags[index] = Flag(goal_id=candidate.goal_id, state=candidate.state, attempt=candidate.attempt,
                                reason=_reason(candidate), details=_details(candidate))
        else:
            repairs[index] = Repair(action, candidate.state)
    for action, transition in _TRANSITION_OF.items():
        indices = pending[action]
        moves = {str(decided[i][0].goal_id): (i, _move(decided[i][0], action)) for i in indices}
        # Sent here once the batch commits (``send``), so that the report says whether each went out.
        outcomes = move_many(transition, [move for _, move in moves.values()], send=False, cause=Cause.RECONCILER,
                             actor=actor, set_result=action == Action.APPLIED_SUCCESS)
        for outcome in outcomes:
            index = moves[str(outcome.goal_id)][0]
            candidate = decided[index][0]
            if outcome.applied:
                repairs[index] = _applied(candidate, action, outcome)
                if action == Action.FAILED:
                    flags[index] = Flag(goal_id=candidate.goal_id, state=outcome.state, attempt=outcome.attempt,
                                        reason=_reason(candidate), details=_details(candidate))
            elif action == Action.REDISPATCHED and outcome.budget_exhausted:
                pending[Action.FAILED].append(index)
            else:
                repairs[index] = Repair(Action.SKIPPED, outcome.state)
    flagged = goals_flag_for_review(flags=list(flags.values()), cause=Cause.RECONCILER, actor=actor)
    for index, flag in flags.items():
        if decided[index][1] == Action.FLAGGED:
            repairs[index] = Repair(Action.FLAGGED if str(flag.goal_id) in flagged else Action.SKIPPED, flag.state)
    # A goal no statement returned (gone since it was classified) was not repaired.
    return [repairs.get(index, Repair(Action.SKIPPED, candidate.state)) for index, (candidate, _) in enumerate(decided)]


def _applied(candidate: Candidate, action: str, outcome: TransitionOutcome) -> Repair:
    """The applied move's repair, with what it opened to send: its own next attempt (a redispatch, a
    fan-in) and the parents its end fanned in."""
    own = [d for d in outcome.to_send if str(d.goal_id) == str(candidate.goal_id)]
    parents = tuple(d for d in outcome.to_send if str(d.goal_id) != str(candidate.goal_id))
    revoke = candidate.task_id if action == Action.EXPIRED else ""
    # A goal fanned in with nothing to continue was ended in the same transaction, with no worker.
    state = outcome.family.conclusion.target if outcome.concludes_itself else outcome.state
    return Repair(action, state, revoke=revoke, send=own[0] if own else None, also_send=parents)


def send(repairs: list[Repair]) -> list[Repair]:
    """Publish the attempts a committed batch of repairs sends (one producer, one "queued" statement),
    and say for each whether it went out; a goal not sent stays pending for a later pass."""
    # Two children of one parent repaired in one statement both name the parent it fanned in: sent once.
    dispatches = {(str(d.goal_id), d.attempt): d
                  for r in repairs for d in (*([r.send] if r.send else []), *r.also_send)}
    if not dispatches:
        return repairs
    sent = publish_attempts(dispatches=list(dispatches.values()))
    done = []
    for r in repairs:
        if r.send is None:
            done.append(r)
        elif str(r.send.goal_id) in sent:
            done.append(Repair(r.action, GoalState.QUEUED))
        elif r.action == Action.SENT:
            done.append(Repair(Action.SEND_FAILED, GoalState.PENDING))
        else:
            done.append(Repair(r.action, GoalState.PENDING, "broker unreachable: sent on a later pass"))
    return done


def revoke_tasks(task_ids: list[str]) -> None:
    """Tell the workers to drop these attempts' messages if still queued (one broadcast); a running
    executor stops at its next progress report, since its goal is no longer running."""
    if not task_ids:
        return
    try:
        current_app.control.revoke(task_ids)
    except Exception:  # the goals are final either way; a message delivered later is fenced off
        logger.warning("could not revoke %d task(s) of expired goals", len(task_ids), exc_info=True)
