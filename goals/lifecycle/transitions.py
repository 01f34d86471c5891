"""Applying a transition: one statement that compare-and-sets the goal row and journals it.

The statements are written whole in ``goals/lifecycle/sql/moves.sql``: ``start_attempt`` (the worker's
start), ``mark_queued`` (the publisher's) and ``move_goals`` (every other move, of one goal or a set).
Each locks the goal row, updates it only if it is in one of the transition's source states *and* at the
caller's attempt number, closes or opens attempt rows, and inserts the event row, all at once. Zero rows
changed means the transition was refused (wrong state or stale attempt): the caller is told, and a
refused *callback* is journaled as ``ignored`` by the same statement. Nothing reads the row first and
writes it later, so two callers can never both win.

What a transition does is read from its row of the table in ``goals.lifecycle.states``, turned here into the
statement's parameters (``_move_parameters``); nothing here writes SQL.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from goals.exceptions import GoalNotFound, TransitionNotAllowed
from goals.lifecycle import store
from goals.lifecycle.fan_in import Next, after_fan_in, children_decided
from goals.lifecycle.results import ROW_COLUMNS, goal_results_in_database
from goals.lifecycle.states import (
    ADMIT,
    AGGREGATE,
    ENQUEUE,
    FAIL,
    HOLD,
    RETRY_LATER,
    SCHEDULE_RETRY,
    START,
    SUCCEED,
    GoalState,
    Transition,
)


@dataclass(frozen=True)
class Family:
    """What a goal's row says of its children (``start`` and ``wait`` outcomes)."""

    fan_ins: int
    continuation: str
    total: int
    final: int
    failed: int
    failures_allowed: int | None
    has_parent: bool

    @property
    def alone(self) -> bool:
        """No parent and no children."""
        return not self.has_parent and not self.total

    @property
    def outcome_known(self) -> bool:
        """Every child is final, or more failed than the policy tolerates."""
        return children_decided(total=self.total, final=self.final, failed=self.failed,
                                failures_allowed=self.failures_allowed)

    @property
    def next(self) -> str:
        """What the attempt after its fan-in does (``goals.lifecycle.fan_in.after_fan_in``)."""
        return after_fan_in(continuation=self.continuation, failed=self.failed,
                            failures_allowed=self.failures_allowed)

    @property
    def conclusion(self) -> Transition | None:
        """The move that ends a fanned-in goal with no worker (``fail`` or ``aggregate``), or None when its
        continuation runs."""
        step = self.next
        if step == Next.CONTINUE:
            return None
        return FAIL if step == Next.FAIL else AGGREGATE


@dataclass(frozen=True)
class Dispatch:
    """One attempt of a committed goal to publish. ``kind`` is the executor that runs it
    (``goals.lifecycle.run_kind``): its queue and time limits go with the message."""

    goal_id: UUID | str
    attempt: int
    task_id: str
    kind: str


@dataclass(frozen=True)
class TransitionOutcome:
    """What the statement saw and did. ``applied`` is False when the transition was refused; then
    ``state``, ``attempt`` and ``task_id`` are what the goal row holds, and ``params`` is empty."""

    transition: Transition
    goal_id: UUID | str
    applied: bool
    from_state: str
    state: str
    attempt: int
    expected_attempt: int | None
    max_attempts: int
    task_id: str
    kind: str
    # The executor that runs the goal's attempt after the move, or refused, its current one (goals.lifecycle.run_kind).
    run_kind: str
    params: dict[str, Any]
    family: Family | None = None
    fanned_in: Dispatch | None = None
    # The fanned-in parent's family as the move left it: whether its next attempt needs a worker.
    fanned_in_family: Family | None = None
    # The (kind, key) of limited kinds where this move freed a slot while goals are held: the caller admits
    # them in its transaction (``admit_held``, applied by ``goals.submitting.moves``).
    admit_keys: tuple[tuple[str, str], ...] = ()
    # A start held for its kind's rate: the turn it was given, when it is released (``start_attempt``).
    until: datetime | None = None
    # An applied start: the submit's trace context stored with the goal, if any (``goals.tracing``).
    trace_context: dict[str, str] | None = None

    @property
    def held(self) -> bool:
        """A start the kind's concurrency limit turned into ``hold``: the goal waits for a slot."""
        return self.transition is START and self.state == GoalState.HELD and self.from_state != GoalState.HELD

    @property
    def to_send(self) -> list[Dispatch]:
        """The attempts this move left ``pending``, which must be published once it commits: the goal's own
        (a new attempt, or a scheduled goal released at its first) and the attempt of a parent it fanned in.
        ``goals.submitting.moves`` sends them, for every caller."""
        sends = []
        # A move that leaves the goal pending leaves its attempt to be sent (a scheduled retry's message was
        # published by Celery: it moves to retrying).
        if self.applied and self.transition.target == GoalState.PENDING and not self.concludes_itself:
            sends.append(Dispatch(goal_id=self.goal_id, attempt=self.attempt, task_id=self.task_id,
                                  kind=self.run_kind))
        if self.fanned_in is not None and not self.concludes_parent:
            sends.append(self.fanned_in)
        return sends

    @property
    def concludes_parent(self) -> bool:
        """The parent this move fanned in needs no worker to end: no continuation, so its children's
        outcome is its own (``goals.submitting.moves`` ends it in the caller's transaction)."""
        return self.fanned_in_family is not None and self.fanned_in_family.conclusion is not None

    @property
    def concludes_itself(self) -> bool:
        """The goal fanned in by its own move (as it waits, or repaired by the reconciler) needs no worker
        to end, as a parent fanned in by its child's move."""
        return (self.applied and self.transition.fans_in and self.family is not None
                and self.family.conclusion is not None)

    @property
    def budget_exhausted(self) -> bool:
        """Refused only because a bounded transition had no attempt left."""
        return (not self.applied and self.transition.bounded and self.transition.allows(self.from_state)
                and self.expected_attempt in (None, self.attempt) and self.attempt >= self.max_attempts)

    def raise_if_refused(self) -> TransitionOutcome:
        if not self.applied:
            raise TransitionNotAllowed(
                goal_id=self.goal_id, transition=self.transition.name, source=self.from_state,
                target=self.transition.target, attempt=self.attempt, expected_attempt=self.expected_attempt,
            )
        return self


@dataclass(frozen=True)
class GoalMove:
    """One goal's part in a move: its fence (the attempt its caller expects; None for whatever is current,
    for people, whose intent is about the goal) and the values it brings."""

    goal_id: UUID | str
    attempt: int | None
    details: dict[str, Any] | None = None
    new_task_id: str | None = None
    result: Any = None
    error: dict[str, Any] | None = None
    closed_outcome: str | None = None
    caller_task_id: str = ""
    # The outside event a resume consumes, in the same statement (``goals.waits``).
    event_id: int | None = None


def start_attempt(*, goal_id: UUID | str, attempt: int, task_id: str, worker: str, cause: str = "executor",
                  journal_refusal: bool = True, limits: dict[str, int] | None = None,
                  rates: dict[str, tuple[int, float]] | None = None) -> TransitionOutcome:
    """``start``: the worker takes attempt ``attempt``; refused (and journaled ``ignored``) when the goal is
    not pending, queued or retrying at that attempt. Raises ``GoalNotFound`` if there is no such goal.

    ``limits`` and ``rates`` are the kinds' declared concurrency limits and rates (``goals.executors.limits``):
    a goal of a limited kind with no slot free, or before its turn under its rate, or of a paused kind, is
    held instead (``hold``, in the same statement; ``outcome.held``, and ``outcome.until`` for a rate)."""
    row = store.start_attempt(goal_id=goal_id, attempt=attempt, task_id=task_id, actor=worker, cause=cause,
                              journal_refusal=journal_refusal, limits=json.dumps(limits or {}),
                              rates=json.dumps(rates or {}))
    if row is None:
        raise GoalNotFound(goal_id)
    return replace(_own_statement_outcome(START, row, expected_attempt=attempt), goal_id=goal_id)


def mark_queued(dispatches: list[Dispatch], *, actor: str, cause: str = "publisher") -> list[TransitionOutcome]:
    """``enqueue``: record these published attempts queued, each goal fenced on its attempt; a goal that
    moved on meanwhile (started, cancelled) is left as it is. One outcome per goal found, in id order."""
    if not dispatches:
        return []
    rows = store.mark_queued(goal_ids=[str(d.goal_id) for d in dispatches], attempts=[d.attempt for d in dispatches],
                             actor=actor, cause=cause)
    expected = {str(d.goal_id): d.attempt for d in dispatches}
    return [_own_statement_outcome(ENQUEUE, row, expected_attempt=expected[str(row[0])]) for row in rows]


def admit_held(keys: set[tuple[str, str]], *, cause: str, actor: str = "") -> list[Dispatch]:
    """``admit``: the free slots of these (kind, key) pairs go to their held goals, oldest first, each moved
    to pending at its attempt; returns their attempts, for the caller to send once the transaction commits."""
    if not keys:
        return []
    rows = store.admit_held_goals(keys=json.dumps(sorted(keys)), cause=cause, actor=actor)
    return [Dispatch(goal_id=goal_id, attempt=attempt, task_id=task_id, kind=kind)
            for goal_id, attempt, task_id, kind in rows]


def admit_paused(kind: str, *, limit: int, cause: str, actor: str = "") -> list[Dispatch]:
    """``admit`` after a resume: up to ``limit`` goals held for ``kind``'s pause, oldest first, moved to pending
    at their attempt; returns their attempts, for the caller to send once the transaction commits."""
    rows = store.admit_paused_goals(kind=kind, limit=limit, cause=cause, actor=actor)
    return [Dispatch(goal_id=goal_id, attempt=attempt, task_id=task_id, kind=run_kind)
            for goal_id, attempt, task_id, run_kind in rows]


def _own_statement_outcome(transition: Transition, row: tuple, *, expected_attempt: int | None
                           ) -> TransitionOutcome:
    (goal_id, kind, from_state, state, goal_attempt, max_attempts, task_id, goal_run_kind, applied, family,
     params, until, trace_context) = row
    return TransitionOutcome(
        transition=transition, goal_id=goal_id, applied=applied, from_state=from_state, state=state,
        attempt=goal_attempt, expected_attempt=expected_attempt, max_attempts=max_attempts, task_id=task_id,
        kind=kind, run_kind=goal_run_kind, params=json.loads(params) if params else {},
        family=Family(*json.loads(family)) if family else None, until=until,
        trace_context=json.loads(trace_context) if trace_context else None)


def apply_transition(
    transition: Transition,
    *,
    goal_id: UUID | str,
    attempt: int | None,
    cause: str,
    actor: str = "",
    details: dict[str, Any] | None = None,
    new_task_id: str | None = None,
    caller_task_id: str = "",
    result: Any = None,
    error: dict[str, Any] | None = None,
    progress: tuple[int, int | None, str] | None = None,
    set_result: bool = False,
    budget: int | None = None,
    closed_outcome: str | None = None,
    journal_refusal: bool = False,
    result_row: dict[str, Any] | None = None,
    failures_allowed: int | None = None,
    continuation: str = "",
    alone: bool = False,
    run_after: datetime | None = None,
    wait_event: str = "",
    wait_key: str | None = None,
    event_id: int | None = None,
    limits: dict[str, int] | None = None,
    rates: dict[str, tuple[int, float]] | None = None,
) -> TransitionOutcome:
    """Move goal ``goal_id`` by ``transition`` if it is in a source state at attempt ``attempt``.

    ``attempt=None`` accepts whatever attempt is current: for people (cancel, retry) whose intent is
    about the goal, not about one attempt. Callbacks always pass their attempt: that is the fence.

    One round trip. Returns the outcome whether applied or refused (``outcome.raise_if_refused()``
    turns a refusal into ``TransitionNotAllowed``); raises ``GoalNotFound`` if there is no such goal.
    ``journal_refusal`` writes an ``ignored`` event when refused (for callbacks: a late or duplicate
    callback is recorded, never applied). ``result_row`` (see ``goals.lifecycle.results``) is the task's
    django-celery-results row, written by the same statement if the transition applies.
    ``failures_allowed`` and ``continuation`` are what ``wait`` records of the goal's policy. ``alone``
    (the worker's end of a goal with no parent and no children: succeed, fail, schedule_retry, retry_later)
    runs ``end_lone_attempt``, which leaves out the family parts. ``run_after`` is the new start time of the
    moves that set one (``reschedule``, ``retry_later``), or the deadline of an ``await_event``, whose
    ``wait_event`` and ``wait_key`` say what it waits for; ``event_id`` is the event a ``resume`` consumes.
    ``limits`` and ``rates`` (``start`` only) are the kinds' declared concurrency limits and rates.
    """
    if transition is START:
        return start_attempt(goal_id=goal_id, attempt=attempt, task_id=caller_task_id, worker=actor, cause=cause,
                             journal_refusal=journal_refusal, limits=limits, rates=rates)
    if transition is ENQUEUE:
        found = mark_queued([Dispatch(goal_id=goal_id, attempt=attempt, task_id="", kind="")], actor=actor,
                            cause=cause)
        if not found:
            raise GoalNotFound(goal_id)
        return replace(found[0], goal_id=goal_id)
    if alone:
        return _end_lone_attempt(transition, goal_id=goal_id, attempt=attempt, actor=actor, details=details,
                                 new_task_id=new_task_id, caller_task_id=caller_task_id, result=result,
                                 set_result=set_result, error=error, progress=progress, result_row=result_row,
                                 run_after=run_after)
    move = GoalMove(goal_id=goal_id, attempt=attempt, details=details, new_task_id=new_task_id, result=result,
                    error=error, closed_outcome=closed_outcome, caller_task_id=caller_task_id, event_id=event_id)
    outcomes = _move_goals(transition, [move], cause=cause, actor=actor, set_result=set_result, budget=budget,
                           progress=progress, journal_refusal=journal_refusal, result_row=result_row,
                           failures_allowed=failures_allowed, continuation=continuation, run_after=run_after,
                           wait_event=wait_event, wait_key=wait_key)
    if not outcomes:
        raise GoalNotFound(goal_id)
    return replace(outcomes[0], goal_id=goal_id)


def apply_transitions(transition: Transition, moves: list[GoalMove], *, cause: str, actor: str = "",
                      set_result: bool = False, budget: int | None = None, run_after: datetime | None = None
                      ) -> list[TransitionOutcome]:
    """Apply ``transition`` to a set of goals in one statement, each fenced on its own state and attempt
    and journaled as ``apply_transition`` would: for the reconciler, which repairs findings in batches.

    Returns one outcome per goal found, in id order; goals that do not exist are left out. Errors are
    given per goal (``GoalMove.error``) and set only on the goals that bring one.
    """
    if not moves:
        return []
    return _move_goals(transition, moves, cause=cause, actor=actor, set_result=set_result, budget=budget,
                       run_after=run_after)


def _move_goals(transition: Transition, moves: list[GoalMove], *, cause: str, actor: str, set_result: bool = False,
                budget: int | None = None, progress: tuple[int, int | None, str] | None = None,
                journal_refusal: bool = False, result_row: dict[str, Any] | None = None,
                failures_allowed: int | None = None, continuation: str = "", run_after: datetime | None = None,
                wait_event: str = "", wait_key: str | None = None) -> list[TransitionOutcome]:
    if transition in (START, HOLD, ADMIT, ENQUEUE):
        raise ValueError(f"{transition.name} has a statement of its own")
    _check_start(transition, run_after)
    if transition.awaits_event != bool(wait_event):
        raise ValueError(f"{transition.name} {'needs' if transition.awaits_event else 'takes no'} wait_event")
    for move in moves:
        if transition.new_attempt and not move.new_task_id:
            raise ValueError(f"{transition.name} opens a new attempt and needs new_task_id")
    items = [{"goal_id": str(m.goal_id), "want_attempt": m.attempt, "new_task_id": m.new_task_id,
              "in_details": m.details or {}, "in_result": m.result, "in_error": m.error,
              "closed_outcome": m.closed_outcome, "caller_task_id": m.caller_task_id, "event_id": m.event_id}
             for m in moves]
    parameters = {
        **_move_parameters(transition), **_attempt_end_values(progress, result_row),
        "items": json.dumps(items, default=str),
        "cause": cause, "actor": actor[:255], "journal_refusal": journal_refusal,
        "set_result": set_result, "budget": budget, "failures_allowed": failures_allowed,
        "continuation": continuation, "run_after": run_after, "wait_event": wait_event, "wait_key": wait_key,
    }
    expected = {str(m.goal_id): m.attempt for m in moves}
    rows = store.move_goals(parameters)
    return [_outcome(transition, row, expected_attempt=expected[str(row[0])]) for row in rows]


# The moves a worker ends an attempt of a lone goal with (``end_lone_attempt``).
_LONE_ENDS = frozenset({SUCCEED, FAIL, SCHEDULE_RETRY, RETRY_LATER})


def _check_start(transition: Transition, run_after: datetime | None) -> None:
    """A move that sets a start time needs one; an ``await_event`` may bring its deadline; no other move
    brings one."""
    if transition.awaits_event:
        return
    if transition.sets_start != (run_after is not None):
        raise ValueError(f"{transition.name} {'needs' if transition.sets_start else 'takes no'} run_after")


def _end_lone_attempt(transition: Transition, *, goal_id: UUID | str, attempt: int | None, actor: str,
                      details: dict[str, Any] | None, new_task_id: str | None, caller_task_id: str, result: Any,
                      set_result: bool, error: dict[str, Any] | None, progress: tuple[int, int | None, str] | None,
                      result_row: dict[str, Any] | None, run_after: datetime | None) -> TransitionOutcome:
    if transition not in _LONE_ENDS or attempt is None:
        raise ValueError(f"end_lone_attempt is the worker's {', '.join(t.name for t in _LONE_ENDS)} of an attempt")
    _check_start(transition, run_after)
    parameters = {
        **_move_parameters(transition), **_attempt_end_values(progress, result_row),
        "goal_id": str(goal_id), "attempt": attempt, "new_task_id": new_task_id, "caller_task_id": caller_task_id,
        "actor": actor[:255], "details": json.dumps(details or {}), "set_result": set_result,
        "result": json.dumps(result), "error": json.dumps(error) if error is not None else None,
        "run_after": run_after,
    }
    found = store.end_lone_attempt(parameters)
    if found is None:
        raise GoalNotFound(goal_id)
    return replace(_outcome(transition, found, expected_attempt=attempt), goal_id=goal_id)


def _move_parameters(transition: Transition) -> dict[str, Any]:
    """What ``move_goals`` does for ``transition``: its row of the table in ``goals.lifecycle.states``."""
    return {"name": transition.name, "sources": sorted(transition.sources), "target": transition.target.value,
            "opens_attempt": transition.new_attempt, "bounded": transition.bounded,
            "celery_publishes": transition.celery_publishes, "ends": transition.ends,
            "restarts": transition.restarts, "waits": transition.waits, "fans_in": transition.fans_in,
            "concludes": transition.concludes, "closes_as": transition.closes_attempt_as,
            "awaits_event": transition.awaits_event, "stops_waiting": transition.stops_waiting}


def _attempt_end_values(progress: tuple[int, int | None, str] | None, result_row: dict[str, Any] | None
                        ) -> dict[str, Any]:
    """What the worker's end of an attempt brings to the statement: its last progress (NULLs keep the
    goal's), the task's result row (``row_<column>``; NULLs write none) and whether the ended goal's task
    ids take their final Celery state (only with django-celery-results)."""
    current, total, message = progress or (None, None, None)
    row = result_row or {}
    return {"progress_current": current, "progress_total": total,
            "progress_message": message[:255] if message is not None else None,
            **{f"row_{column}": row.get(column) for column in ROW_COLUMNS},
            "results_in_database": goal_results_in_database()}


def _outcome(transition: Transition, row: tuple, *, expected_attempt: int | None) -> TransitionOutcome:
    (goal_id, kind, from_state, state, goal_attempt, max_attempts, task_id, goal_run_kind, applied, family_text,
     fan_id, fan_attempt, fan_task_id, fan_kind, fan_family, admit_keys) = row
    return TransitionOutcome(
        transition=transition,
        goal_id=goal_id,
        applied=applied,
        from_state=from_state,
        state=state,
        attempt=goal_attempt,
        expected_attempt=expected_attempt,
        max_attempts=max_attempts,
        task_id=task_id,
        kind=kind,
        run_kind=goal_run_kind,
        params={},
        family=Family(*json.loads(family_text)) if family_text else None,
        fanned_in=Dispatch(goal_id=fan_id, attempt=fan_attempt, task_id=fan_task_id, kind=fan_kind) if fan_id else None,
        fanned_in_family=Family(*json.loads(fan_family)) if fan_family else None,
        admit_keys=tuple((kind, key) for kind, key in json.loads(admit_keys)) if admit_keys else (),
    )
