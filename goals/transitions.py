"""Applying a transition: one SQL statement that compare-and-sets the goal row and journals it.

The statement locks the goal row, updates it only if it is in one of the transition's source states
*and* at the caller's attempt number, closes or opens attempt rows, and inserts the event row, all at
once. Zero rows changed means the transition was refused (wrong state or stale attempt): the caller is
told, and a refused *callback* is journaled as ``ignored`` by the same statement. Nothing reads the row
first and writes it later, so two callers can never both win.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

from goals import family_sql
from goals.db import hot_cursor
from goals.exceptions import GoalNotFound, TransitionNotAllowed
from goals.models import Attempt, AttemptOutcome, EventType, Goal, GoalEvent
from goals.results import finish_sql, goal_results_in_database, insert_sql, row_params
from goals.states import (
    CANCEL,
    ENQUEUE,
    EXPIRE,
    FAIL,
    FAN_IN,
    FINAL_STATES,
    REDISPATCH,
    RETRY,
    SCHEDULE_RETRY,
    START,
    SUCCEED,
    WAIT,
    Transition,
)

# When a phase began: the clock once the row is locked, not now() (the statement's start). A statement
# that waited for the lock another transition held would otherwise stamp a time before that transition's:
# a goal started before it was queued.
_AT = family_sql.AT

# Phase timestamps each transition stamps on the goal row; a final one also sets final_state to its
# target (the check constraint goals_goal_final_state_is_state holds them equal), and a retry clears it.
_GOAL_SETS: dict[str, tuple[str, ...]] = {
    START.name: (f"started_at = {_AT}", f"heartbeat_at = {_AT}"),
    ENQUEUE.name: (f"queued_at = {_AT}",),
    SUCCEED.name: (f"finished_at = {_AT}", f"final_state = '{SUCCEED.target.value}'", *family_sql.FINAL_COUNTS),
    FAIL.name: (f"finished_at = {_AT}", f"final_state = '{FAIL.target.value}'", *family_sql.FINAL_COUNTS),
    # Celery's retry published the next attempt before this runs: it is queued (with a countdown).
    SCHEDULE_RETRY.name: (f"queued_at = {_AT}", "started_at = NULL", "heartbeat_at = NULL"),
    REDISPATCH.name: ("queued_at = NULL", "started_at = NULL", "heartbeat_at = NULL"),
    RETRY.name: ("queued_at = NULL", "started_at = NULL", "heartbeat_at = NULL", "finished_at = NULL",
                 "final_state = NULL", "result = NULL", "error = NULL", "progress_current = 0", "progress_total = NULL",
                 "progress_message = ''", "continuation = ''", "fan_ins = 0", "child_failures_allowed = NULL"),
    CANCEL.name: (f"finished_at = {_AT}", f"final_state = '{CANCEL.target.value}'", *family_sql.FINAL_COUNTS),
    EXPIRE.name: (f"finished_at = {_AT}", f"final_state = '{EXPIRE.target.value}'", *family_sql.FINAL_COUNTS),
    # The policy and continuation the executor handed back with; while it waits, its progress is its
    # children's (kept by each one's final transition).
    WAIT.name: ("heartbeat_at = NULL", "child_failures_allowed = %(failures_allowed)s",
                "continuation = %(continuation)s", "progress_current = g.children_final",
                "progress_total = g.children_total", "progress_message = ''"),
    FAN_IN.name: family_sql.FAN_IN_SETS,
}

# How a transition ends the attempt it leaves (new-attempt transitions) or the current one.
_CLOSES_ATTEMPT: dict[str, str] = {
    SUCCEED.name: AttemptOutcome.SUCCEEDED.value,
    FAIL.name: AttemptOutcome.FAILED.value,
    SCHEDULE_RETRY.name: AttemptOutcome.FAILED.value,
    REDISPATCH.name: AttemptOutcome.ABANDONED.value,
    RETRY.name: AttemptOutcome.ABANDONED.value,
    CANCEL.name: AttemptOutcome.CANCELLED.value,
    EXPIRE.name: AttemptOutcome.EXPIRED.value,
    WAIT.name: AttemptOutcome.WAITING.value,
}

# Columns a caller may set along with the transition, and their SQL. Per-goal values are columns of
# ``old`` (see ``_inputs``), so the same statement serves one goal or a set of them.
_OPTIONAL_SETS = {
    "result": "result = COALESCE(old.in_result, 'null'::jsonb)",
    "error": "error = COALESCE(old.in_error, g.error)",
    "progress": ("progress_current = %(progress_current)s, progress_total = %(progress_total)s, "
                 "progress_message = %(progress_message)s"),
    # An explicit retry grants a fresh budget: the new attempt plus ``budget - 1`` automatic ones.
    "budget": "max_attempts = g.attempt + %(budget)s",
}

# What each goal's caller says: the attempt it expects (the fence) and the values it brings.
_INPUTS = (("want_attempt", "integer"), ("new_task_id", "text"), ("in_details", "jsonb"), ("in_result", "jsonb"),
           ("in_error", "jsonb"), ("closed_outcome", "text"), ("caller_task_id", "text"))


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
        """No parent and no children: its moves need none of the family's parts (``apply_transition``)."""
        return not self.has_parent and not self.total

    @property
    def outcome_known(self) -> bool:
        """Every child is final, or more failed than the policy tolerates (``family_sql.fan_in_due``)."""
        allowed = self.total if self.failures_allowed is None else self.failures_allowed
        return self.final >= self.total or self.failed > allowed


@dataclass(frozen=True)
class Dispatch:
    """One attempt of a committed goal to publish. ``kind`` is the executor that runs it
    (``goals.run_kind``): its queue and time limits go with the message."""

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
    # The executor that runs the goal's attempt after the move, or refused, its current one (goals.run_kind).
    run_kind: str
    params: dict[str, Any]
    family: Family | None = None
    fanned_in: Dispatch | None = None

    @property
    def to_send(self) -> list[Dispatch]:
        """The attempts this move opened, committed ``pending``, that must be published once it commits:
        the goal's own new attempt (unless Celery published it: a scheduled retry) and the attempt of a
        parent it fanned in. ``goals.moves`` sends them, for every caller."""
        sends = []
        if self.applied and self.transition.new_attempt and not self.transition.celery_publishes:
            sends.append(Dispatch(goal_id=self.goal_id, attempt=self.attempt, task_id=self.task_id,
                                  kind=self.run_kind))
        if self.fanned_in is not None:
            sends.append(self.fanned_in)
        return sends

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


def _inputs(many: bool, *, after_parents: bool = False) -> str:
    """``old``: the goal rows, locked, with their callers' inputs as columns. One goal takes scalar
    parameters (the hot path: a prepared statement per callback); a set takes one JSON array of objects,
    locked in id order so that two set-based callers cannot deadlock."""
    goal_t = Goal._meta.db_table
    columns = "g.id, g.state, g.attempt, g.max_attempts, g.kind, g.continuation, g.task_id"
    if many:
        names = ", ".join(f"i.{name}" for name, _ in _INPUTS)
        types = ", ".join(f"{name} {sql_type}" for name, sql_type in _INPUTS)
        return f"""
        SELECT {columns}, {names}
          FROM jsonb_to_recordset(%(items)s::jsonb) AS i(goal_id uuid, {types})
          JOIN {goal_t} g ON g.id = i.goal_id
         WHERE {family_sql.AFTER_PARENTS if after_parents else "true"}
         ORDER BY g.id
           FOR UPDATE OF g"""
    values = ", ".join(f"%({name})s::{sql_type} AS {name}" for name, sql_type in _INPUTS)
    parents_first = f" AND {family_sql.AFTER_PARENTS}" if after_parents else ""
    return f"SELECT {columns}, {values} FROM {goal_t} g WHERE g.id = %(goal_id)s{parents_first} FOR UPDATE"


@lru_cache(maxsize=64)
def _statement(transition: Transition, optional: frozenset[str], many: bool = False) -> str:
    goal_t, attempt_t, event_t = Goal._meta.db_table, Attempt._meta.db_table, GoalEvent._meta.db_table
    sets = ["state = %(target)s", *_GOAL_SETS[transition.name]]
    sets += [_OPTIONAL_SETS[name] for name in sorted(optional) if name in _OPTIONAL_SETS]
    if transition.new_attempt:
        sets += ["attempt = g.attempt + 1", "task_id = old.new_task_id"]
    attempt_sql = []
    closes = _CLOSES_ATTEMPT.get(transition.name)
    if closes:
        error = "COALESCE(old.in_error, a.error)" if "error" in optional else "a.error"
        attempt_sql.append(f"""
    closed AS (
        UPDATE {attempt_t} AS a
           SET finished_at = COALESCE(a.finished_at, {_AT}), outcome = COALESCE(old.closed_outcome, '{closes}'),
               error = {error}
          FROM old JOIN moved ON moved.id = old.id
         WHERE a.goal_id = old.id AND a.number = old.attempt
           AND a.outcome <> '{AttemptOutcome.WAITING.value}'  -- handed back, it stays so
    ),""")
    if transition is START:
        attempt_sql.append(f"""
    started AS (
        UPDATE {attempt_t} AS a SET started_at = {_AT}, worker = %(actor)s
          FROM moved WHERE a.goal_id = moved.id AND a.number = moved.attempt
    ),""")
    if transition is ENQUEUE:
        attempt_sql.append(f"""
    enqueued AS (
        UPDATE {attempt_t} AS a SET queued_at = {_AT}
          FROM moved WHERE a.goal_id = moved.id AND a.number = moved.attempt
    ),""")
    if transition.new_attempt:
        queued = _AT if transition is SCHEDULE_RETRY else "NULL"
        attempt_sql.append(f"""
    opened AS (
        INSERT INTO {attempt_t} (goal_id, number, task_id, worker, created_at, queued_at, outcome)
        SELECT id, attempt, task_id, '', now(), {queued}, '' FROM moved
    ),""")
    if "result_row" in optional:
        attempt_sql.append(f"""
    recorded AS ({insert_sql("moved")}
    ),""")
    if "finish_results" in optional:
        attempt_sql.append(f"""
    finished_results AS ({finish_sql("moved", except_current="result_row" in optional)}
    ),""")
    guard = " AND old.attempt < old.max_attempts" if transition.bounded else ""
    if transition is FAN_IN:
        guard += f" AND {family_sql.fan_in_due('g')}"
    if transition is RETRY:
        guard += f" AND {family_sql.retry_allowed()}"
    # Only the executor, starting, needs the params: no other move sends them back.
    params = "g.params::text AS params" if transition is START else "NULL::text AS params"
    outcome = ", g.result, g.error" if "finish_results" in optional else ""
    # What the executor (starting) and the worker (handing back) need to know of the goal's children.
    family_row = ("json_build_array(g.fan_ins, g.continuation, g.children_total, g.children_final, g.children_failed,"
                  " g.child_failures_allowed, g.parent_id IS NOT NULL)::text" if transition in (START, WAIT)
                  else "NULL::text")
    # synchronous_commit is read when the statement's transaction commits: set here, it applies to it.
    relaxed = ", (SELECT set_config('synchronous_commit', 'off', true)) AS relaxed" \
        if transition.asynchronous_commit else ""
    # ``alone``: the caller knows the goal has no parent and no children, and the family's parts (empty
    # for such a goal, but each still run) are left out of the hot path.
    family = "alone" not in optional
    counts, ends = family and family_sql.touches_parent(transition), family and transition.target in FINAL_STATES
    family_ctes = family_sql.counting(transition) if counts else ""
    if ends:
        family_ctes += family_sql.cascade(results="finish_results" in optional)
    # The parent a final move fanned in, for its caller to send (``TransitionOutcome.fanned_in``).
    fanned = ("LEFT JOIN counted fan ON fan.id = moved.parent_id AND fan.fires" if ends else
              "LEFT JOIN (SELECT NULL::uuid AS id, NULL::integer AS attempt, NULL::text AS task_id, NULL::text AS kind,"
              " NULL::text AS continuation) fan ON false")
    family_journal = family_sql.journal_rows(transition) if ends else ""
    return f"""
    WITH {"RECURSIVE " if ends else ""}{family_sql.parents_lock(many) if counts else ""}old AS (
        {_inputs(many, after_parents=counts)}
    ),
    moved AS (
        UPDATE {goal_t} AS g SET {", ".join(sets)}
          FROM old
         WHERE g.id = old.id AND old.state = ANY(%(sources)s)
           AND (old.want_attempt IS NULL OR old.attempt = old.want_attempt){guard}
     RETURNING g.id, g.state, g.attempt, g.max_attempts, g.task_id, g.parent_id, g.children_total,
               {family_sql.run_kind('g')} AS run_kind, {family_row} AS family, {params}{outcome}
    ),{"".join(attempt_sql)}{family_ctes}
    journal AS (
        INSERT INTO {event_t}
               (goal_id, created_at, event, transition, from_state, to_state, attempt, task_id,
                cause, actor, details)
        SELECT moved.id, now(), '{EventType.TRANSITION.value}', %(name)s, old.state, moved.state, moved.attempt,
               moved.task_id, %(cause)s, %(actor)s, old.in_details
          FROM moved JOIN old ON old.id = moved.id
        UNION ALL
        SELECT old.id, now(), '{EventType.IGNORED.value}', %(name)s, old.state, %(target)s,
               COALESCE(old.want_attempt, old.attempt), COALESCE(old.caller_task_id, ''), %(cause)s, %(actor)s,
               old.in_details || jsonb_build_object('goal_attempt', old.attempt)
          FROM old
         WHERE %(journal_refusal)s AND NOT EXISTS (SELECT 1 FROM moved WHERE moved.id = old.id){family_journal}
    )
    SELECT old.id, old.kind, old.state, COALESCE(moved.state, old.state), COALESCE(moved.attempt, old.attempt),
           COALESCE(moved.max_attempts, old.max_attempts), COALESCE(moved.task_id, old.task_id),
           COALESCE(moved.run_kind, {family_sql.run_kind('old')}), moved.params, moved.id IS NOT NULL, moved.family,
           fan.id, fan.attempt, fan.task_id, {family_sql.run_kind('fan')}
      FROM old LEFT JOIN moved ON moved.id = old.id {fanned}{relaxed}
    """


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
) -> TransitionOutcome:
    """Move goal ``goal_id`` by ``transition`` if it is in a source state at attempt ``attempt``.

    ``attempt=None`` accepts whatever attempt is current: for people (cancel, retry) whose intent is
    about the goal, not about one attempt. Callbacks always pass their attempt: that is the fence.

    One round trip. Returns the outcome whether applied or refused (``outcome.raise_if_refused()``
    turns a refusal into ``TransitionNotAllowed``); raises ``GoalNotFound`` if there is no such goal.
    ``journal_refusal`` writes an ``ignored`` event when refused (for callbacks: a late or duplicate
    callback is recorded, never applied). ``result_row`` (see ``goals.results``) is the task's
    django-celery-results row, written by the same statement if the transition applies.
    ``failures_allowed`` and ``continuation`` are what ``wait`` records of the goal's policy. ``alone``
    says the goal has no parent and no children (the worker knows, from what its start read and what its
    attempt spawned): the statement then leaves out the family's parts.
    """
    optional = _optional(transition, set_result=set_result, error=error is not None, progress=progress is not None,
                         budget=budget is not None, result_row=result_row is not None, alone=alone)
    current, total, message = progress or (0, None, "")
    inputs = _goal_inputs(transition, goal_id=goal_id, attempt=attempt, details=details, new_task_id=new_task_id,
                          caller_task_id=caller_task_id, result=result, error=error, closed_outcome=closed_outcome)
    params = {
        **_shared_params(transition, cause=cause, actor=actor, journal_refusal=journal_refusal),
        **inputs,
        # One goal binds its values as scalars: JSON columns as text.
        "goal_id": str(goal_id),
        "in_details": json.dumps(inputs["in_details"]),
        "in_result": json.dumps(result),
        "in_error": json.dumps(error) if error is not None else None,
        "progress_current": current,
        "progress_total": total,
        "progress_message": message[:255],
        "budget": budget,
        "failures_allowed": failures_allowed,
        "continuation": continuation,
        **(row_params(result_row) if result_row is not None else {}),
    }
    with hot_cursor() as cursor:
        cursor.execute(_statement(transition, optional), params)
        row = cursor.fetchone()
    if row is None:
        raise GoalNotFound(goal_id)
    return _outcome(transition, goal_id, row[1:], expected_attempt=attempt)


@dataclass(frozen=True)
class GoalMove:
    """One goal's part in a set-based transition (``apply_transitions``): its fence and its values."""

    goal_id: UUID | str
    attempt: int | None
    details: dict[str, Any] | None = None
    new_task_id: str | None = None
    result: Any = None
    error: dict[str, Any] | None = None
    closed_outcome: str | None = None


def apply_transitions(transition: Transition, moves: list[GoalMove], *, cause: str, actor: str = "",
                      set_result: bool = False, budget: int | None = None) -> list[TransitionOutcome]:
    """Apply ``transition`` to a set of goals in one statement, each fenced on its own state and attempt
    and journaled as ``apply_transition`` would: for the reconciler, which repairs findings in batches.

    Returns one outcome per goal found, in id order; goals that do not exist are left out. Errors are
    given per goal (``GoalMove.error``) and set only on the goals that bring one.
    """
    if not moves:
        return []
    optional = _optional(transition, set_result=set_result, error=any(move.error is not None for move in moves),
                         budget=budget is not None)
    items = [_goal_inputs(transition, goal_id=str(move.goal_id), attempt=move.attempt, details=move.details,
                          new_task_id=move.new_task_id, caller_task_id="", result=move.result, error=move.error,
                          closed_outcome=move.closed_outcome) for move in moves]
    params = {**_shared_params(transition, cause=cause, actor=actor, journal_refusal=False),
              "items": json.dumps(items, default=str), "budget": budget}
    expected = {str(move.goal_id): move.attempt for move in moves}
    with hot_cursor() as cursor:
        cursor.execute(_statement(transition, optional, many=True), params)
        rows = cursor.fetchall()
    return [_outcome(transition, row[0], row[1:], expected_attempt=expected[str(row[0])]) for row in rows]


def _optional(transition: Transition, *, set_result: bool = False, error: bool = False, progress: bool = False,
              budget: bool = False, result_row: bool = False, alone: bool = False) -> frozenset[str]:
    """The optional parts of the statement a call asks for. A move to a final state also ends the result
    rows of every task id the goal had (``goals.results.finish_sql``), when results are in the database."""
    parts = {"result": set_result, "error": error, "progress": progress, "budget": budget, "result_row": result_row,
             "alone": alone,
             "finish_results": transition.target in FINAL_STATES and goal_results_in_database()}
    return frozenset(name for name, wanted in parts.items() if wanted)


def _shared_params(transition: Transition, *, cause: str, actor: str, journal_refusal: bool) -> dict[str, Any]:
    return {"sources": list(transition.sources), "target": transition.target.value, "name": transition.name,
            "cause": cause, "actor": actor[:255], "journal_refusal": journal_refusal,
            "fan_in_sources": list(FAN_IN.sources)}


def _goal_inputs(transition: Transition, *, goal_id: UUID | str, attempt: int | None,
                 details: dict[str, Any] | None, new_task_id: str | None, caller_task_id: str, result: Any,
                 error: dict[str, Any] | None, closed_outcome: str | None) -> dict[str, Any]:
    if transition.new_attempt and not new_task_id:
        raise ValueError(f"{transition.name} opens a new attempt and needs new_task_id")
    return {"goal_id": goal_id, "want_attempt": attempt, "new_task_id": new_task_id, "in_details": details or {},
            "in_result": result, "in_error": error, "closed_outcome": closed_outcome,
            "caller_task_id": caller_task_id}


def _outcome(transition: Transition, goal_id: UUID | str, row: tuple, *, expected_attempt: int | None
             ) -> TransitionOutcome:
    (kind, from_state, state, goal_attempt, max_attempts, task_id, goal_run_kind, params_text, applied, family_text,
     fan_id, fan_attempt, fan_task_id, fan_kind) = row
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
        params=json.loads(params_text) if params_text else {},
        family=Family(*json.loads(family_text)) if family_text else None,
        fanned_in=Dispatch(goal_id=fan_id, attempt=fan_attempt, task_id=fan_task_id, kind=fan_kind) if fan_id else None,
    )
