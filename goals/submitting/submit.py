"""Submitting goals: one goal or many of one kind, each committed with its first attempt and journal row
before its task is sent.

Both go through the one ``insert_goals`` statement (``goals.lifecycle.store``), one per batch of
``BATCH_SIZE`` goals, in the caller's transaction; their tasks are handed to the sender together once it
commits. A nightly job that starts a goal per account pays one statement per few thousand goals, not one
per goal. Idempotency holds per goal: a key already used for the kind returns its goal, and the same key
with other params is refused (then nothing of the call is written).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from datetime import UTC, datetime
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import NOT_PROVIDED

from goals import tracing
from goals.actors import person_name
from goals.exceptions import GoalValidationError
from goals.executors.registry import ExecutorSpec
from goals.executors.validation import Checked, checked_items, start_time, validate_options, validate_submission
from goals.ids import new_id, new_task_id
from goals.lifecycle import store
from goals.lifecycle.states import GoalState
from goals.lifecycle.transitions import Dispatch
from goals.models import Cause, Goal
from goals.submitting import timers
from goals.submitting.sender import send_many

# Goals per INSERT: large enough that a statement's overhead vanishes, small enough for its arrays.
BATCH_SIZE = 5_000


def scoped_idempotency_key(owner: Any, key: str | None) -> str | None:
    """The key as stored: scoped by the caller, so one caller can neither find nor block another's goals.

    Keys are unique per kind in the database; unscoped, a caller reusing someone else's key would be
    handed their goal, or could take a key before its owner uses it.
    """
    return None if key is None else f"user:{owner.pk}:{key}"


def goal_submit(
    *,
    kind: str,
    params: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    owner: Any = None,
    deadline: datetime | None = None,
    run_after: datetime | None = None,
    countdown: float | None = None,
    cause: str = Cause.API,
    actor: str = "",
    schedule_id: int | None = None,
) -> tuple[Goal, bool]:
    """Record a goal and send it once the surrounding transaction commits; returns ``(goal, created)``.

    With an ``idempotency_key`` already used for this kind, returns the existing goal with ``created``
    False and sends nothing (different params under the same key are refused): the HTTP API answers 200
    instead of 202 then, without reading the key first, which would race. Bad input raises
    ``GoalValidationError`` before anything is written. ``schedule_id``: the goal is that schedule's period
    (``goals.periodic``).
    """
    spec, stored, encoded, keys = validate_submission(kind, params)
    validate_options(idempotency_key, deadline)
    starts = start_time(run_after=run_after, countdown=countdown, deadline=deadline)
    [(goal, created)] = _insert(kind, spec, [(stored, encoded, keys)], [idempotency_key], owner=owner,
                                deadline=deadline, run_after=starts, cause=cause, actor=actor, schedule_id=schedule_id,
                                key_field=lambda _index: "idempotency_key")
    return goal, created


def goal_submit_many(
    *,
    kind: str,
    params_list: Sequence[dict[str, Any] | None],
    idempotency_keys: Sequence[str | None] | None = None,
    owner: Any = None,
    deadline: datetime | None = None,
    run_after: datetime | None = None,
    countdown: float | None = None,
    cause: str = Cause.API,
    actor: str = "",
) -> list[tuple[Goal, bool]]:
    """Record one goal per item of ``params_list`` and send them once the transaction commits; returns
    ``(goal, created)`` per item, in order.

    Every item is checked before anything is written; bad ones raise one ``GoalValidationError`` whose
    fields are ``<index>.<field>``. An item whose key (``idempotency_keys[i]``) was used before, or earlier
    in the same call, gets that goal with ``created`` False; the same key with other params is refused,
    and then nothing of the call is written.
    """
    keys = list(idempotency_keys) if idempotency_keys is not None else [None] * len(params_list)
    if len(keys) != len(params_list):
        raise GoalValidationError({"idempotency_keys": f"{len(keys)} keys for {len(params_list)} items: give one "
                                   "per item (None for none)"}, code="invalid")
    validate_options(None, deadline)
    if not params_list:
        return []
    spec, checked = checked_items(kind, params_list, keys)
    starts = start_time(run_after=run_after, countdown=countdown, deadline=deadline)
    return _insert(kind, spec, checked, keys, owner=owner, deadline=deadline, run_after=starts, cause=cause,
                   actor=actor, key_field=lambda index: f"{index}.idempotency_key")


def _insert(kind: str, spec: ExecutorSpec, checked: list[Checked], keys: list[str | None], *, owner: Any,
            deadline: datetime | None, run_after: datetime | None, cause: str, actor: str,
            key_field: Callable[[int], str], schedule_id: int | None = None) -> list[tuple[Goal, bool]]:
    """Insert checked items, ``BATCH_SIZE`` per statement, and send the new ones once the transaction
    commits (those scheduled for later wait in the database, released when due: ``goals.submitting.timers``);
    a reused key with other params is refused naming ``key_field(index)``."""
    owner_id = getattr(owner, "pk", owner)
    actor = actor or person_name(owner)  # a submit that names no actor: its owner
    goals: list[Goal | None] = [None] * len(checked)
    created: list[bool] = [False] * len(checked)
    # One goal is one statement in autocommit (a refused key inserts nothing); more are all or nothing. Under the
    # submit's span when traced, whose context every goal keeps for its attempts (goals.tracing).
    with (tracing.submitting(kind, len(checked)) as trace_context,
          transaction.atomic() if len(checked) > 1 else nullcontext()):
        for start in range(0, len(checked), BATCH_SIZE):
            batch, batch_keys = checked[start:start + BATCH_SIZE], keys[start:start + BATCH_SIZE]
            ids, task_ids, document = items_document(batch, batch_keys)
            _running, created_at, scheduled, skipped = store.insert_goals(
                kind=kind, items=document, max_attempts=spec.max_attempts, owner_id=owner_id, deadline=deadline,
                rated=spec.rate is not None, capacity=spec.concurrency.limit if spec.concurrency else None,
                cause=cause, actor=actor, run_after=run_after, schedule_id=schedule_id,
                trace_context=trace_context)
            not_inserted = {position - 1 for position in skipped}  # ordinality counts from 1
            # As read back from the database: times in UTC.
            known = {"kind": kind, "max_attempts": spec.max_attempts, "owner_id": owner_id, "created_at": created_at,
                     "schedule_id": schedule_id,
                     "deadline": deadline.astimezone(UTC) if deadline is not None else None,
                     "state": GoalState.SCHEDULED.value if scheduled else GoalState.PENDING.value,
                     "run_after": run_after.astimezone(UTC) if scheduled else None, "trace_context": trace_context}
            for offset, values in enumerate(zip(ids, task_ids, batch_keys, batch, strict=True)):
                if offset not in not_inserted:
                    goals[start + offset], created[start + offset] = _inserted_goal(known, *values), True
        _resolve_keys(kind, checked, keys, goals, key_field)
        dispatches = [Dispatch(goal_id=goal.pk, attempt=1, task_id=goal.task_id, kind=kind)
                      for goal, new in zip(goals, created, strict=True)
                      if new and goal is not None and goal.state == GoalState.PENDING]
        if dispatches:
            transaction.on_commit(partial(send_many, dispatches))
        elif run_after is not None and any(created):
            timers.arm_after_commit([run_after])
    return [(goal, new) for goal, new in zip(goals, created, strict=True) if goal is not None]


def items_document(items: list[Checked], keys: Sequence[str | None]) -> tuple[list, list[str], str]:
    """New ids and task ids for ``items`` (stored params, their JSON and their limit keys), and the JSON array
    ``[id, task_id, key, params, limit_key, rate_key]`` per item that ``insert_goals`` reads (the limit keys
    left out when both are "", as for every goal of a kind with no limit)."""
    ids = [new_id() for _ in items]
    task_ids = [new_task_id() for _ in items]
    document = "[" + ",".join(
        f'["{goal_id}","{task_id}",{"null" if key is None else json.dumps(key)},{encoded}'
        + (f",{json.dumps(limits.concurrency)},{json.dumps(limits.rate)}]" if any(limits) else "]")
        for goal_id, task_id, key, (_stored, encoded, limits) in zip(ids, task_ids, keys, items, strict=True)
    ) + "]"
    return ids, task_ids, document


_GOAL_FIELDS = [field.attname for field in Goal._meta.concrete_fields]
# What the database fills in for the columns the statement does not name.
_DATABASE_DEFAULTS = {field.attname: getattr(field.db_default, "value", field.db_default)
                      for field in Goal._meta.concrete_fields if field.db_default is not NOT_PROVIDED}


def _inserted_goal(known: dict[str, Any], goal_id: Any, task_id: str, key: str | None,
                   item: Checked) -> Goal:
    """The goal as ``from_db`` builds it, from what is known here and the ``created_at`` the server gave:
    no read back of what was just written."""
    values = {**_DATABASE_DEFAULTS, **known, "id": goal_id, "params": item[0], "task_id": task_id,
              "limit_key": item[2].concurrency, "rate_key": item[2].rate, "idempotency_key": key, "attempt": 1,
              "progress_current": 0, "progress_message": ""}
    return Goal.from_db(connection.alias, _GOAL_FIELDS, [values.get(name) for name in _GOAL_FIELDS])


def _resolve_keys(kind: str, checked: list[Checked], keys: list[str | None], goals: list[Goal | None],
                  key_field: Callable[[int], str]) -> None:
    """Fill in the goals of the items whose key was taken, in one query; refuse a key reused with other
    params (raised inside the transaction, so nothing of the call stays written)."""
    missing = {keys[index] for index, goal in enumerate(goals) if goal is None}
    if not missing:
        return
    existing = {goal.idempotency_key: goal for goal in Goal.objects.filter(kind=kind, idempotency_key__in=missing)}
    conflicts = {}
    for index, goal in enumerate(goals):
        if goal is not None:
            continue
        found = existing[keys[index]]
        if found.params != checked[index][0]:
            conflicts[key_field(index)] = ValidationError(
                f"already used for goal {found.pk} with different params", code="idempotency_conflict")
        goals[index] = found
    if conflicts:
        raise GoalValidationError(conflicts, code="idempotency_conflict")
