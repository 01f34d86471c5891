"""Submitting many goals of one kind at once: every item checked first, then one INSERT per batch.

A nightly job that starts a goal per account would otherwise pay one statement and one commit per goal.
Here the goals, their first attempts and their first journal rows go in one statement per batch of
``BATCH_SIZE``, all in the caller's transaction; their tasks are handed to the sender together once it
commits. Idempotency holds per item, as for ``goal_submit``: a key already used returns its goal.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache, partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import NOT_PROVIDED

from goals.dispatch import Dispatch
from goals.exceptions import GoalValidationError
from goals.ids import new_id, new_task_id
from goals.models import Cause, Goal
from goals.registry import ExecutorSpec
from goals.sender import send_many
from goals.services import first_rows_sql, submitter_name, validate_options
from goals.states import GoalState
from goals.validation import validate_submission

# Goals per INSERT: large enough that a statement's overhead vanishes, small enough for its arrays.
BATCH_SIZE = 5_000


@lru_cache(maxsize=1)
def _insert_many_statement() -> str:
    goal_t = Goal._meta.db_table
    # As goal_submit's statement, over one JSON array of [id, task_id, key, params] (parsed once by the
    # server, where arrays of text would be quoted item by item here): a key already used inserts nothing
    # for its item. Only what the server decides comes back, in one row: the goals' created_at (now(), the
    # same for the whole transaction) and the positions of the items not inserted; the rest is known here.
    return f"""
    WITH item AS (
        SELECT (item->>0)::uuid AS id, item->>1 AS task_id, item->>2 AS idempotency_key, item->3 AS params,
               position
          FROM jsonb_array_elements(%(items)s::jsonb) WITH ORDINALITY AS items(item, position)
    ),
    goal AS (
        INSERT INTO {goal_t} (id, kind, params, state, attempt, max_attempts, progress_current, progress_message,
                              task_id, owner_id, idempotency_key, created_at, deadline)
        SELECT id, %(kind)s, params, %(state)s, 1, %(max_attempts)s, 0, '', task_id, %(owner_id)s,
               idempotency_key, now(), %(deadline)s
          FROM item ORDER BY position
        ON CONFLICT (kind, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
        RETURNING id, task_id, state, created_at
    ),
    {first_rows_sql()}
    SELECT now(), ARRAY(SELECT position FROM item WHERE NOT EXISTS (SELECT FROM goal WHERE goal.id = item.id))
    """


def checked_items(kind: str, params_list: Sequence[Any],
                   keys: Sequence[str | None]) -> tuple[ExecutorSpec, list[tuple[Any, str]]]:
    """The executor, and each item's stored params and their JSON; or one ``GoalValidationError`` naming
    every bad item by index (an unknown kind is said once)."""
    problems: dict[str, Any] = {}
    checked: list[tuple[Any, str]] = []
    spec = None
    for index, params in enumerate(params_list):
        try:
            spec, stored, encoded = validate_submission(kind, params)
        except GoalValidationError as exc:
            if "kind" in exc.message_dict:
                raise  # the same for every item: said once
            problems.update({f"{index}.{field}": errors for field, errors in exc.error_dict.items()})
            continue
        checked.append((stored, encoded))
    for index, key in enumerate(keys):
        try:
            validate_options(key, None)
        except GoalValidationError as exc:
            problems.update({f"{index}.{field}": errors for field, errors in exc.error_dict.items()})
    if problems or spec is None:
        raise GoalValidationError(problems, code="invalid")
    return spec, checked


def goal_submit_many(
    *,
    kind: str,
    params_list: Sequence[dict[str, Any] | None],
    idempotency_keys: Sequence[str | None] | None = None,
    owner: Any = None,
    deadline: datetime | None = None,
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
    owner_id = getattr(owner, "pk", owner)
    actor = actor or submitter_name(owner)
    goals: list[Goal | None] = [None] * len(params_list)
    created: list[bool] = [False] * len(params_list)
    with transaction.atomic():
        for start in range(0, len(checked), BATCH_SIZE):
            inserted = _insert_batch(kind, spec.max_attempts, checked[start:start + BATCH_SIZE],
                                     keys[start:start + BATCH_SIZE], owner_id, deadline, cause, actor)
            for offset, goal in inserted.items():
                goals[start + offset], created[start + offset] = goal, True
        _resolve_keys(kind, checked, keys, goals)
        transaction.on_commit(partial(send_many, [
            Dispatch(goal_id=goal.pk, attempt=1, task_id=goal.task_id, kind=kind)
            for goal, new in zip(goals, created, strict=True) if new and goal is not None]))
    return [(goal, new) for goal, new in zip(goals, created, strict=True) if goal is not None]


def items_document(items: list[tuple[Any, str]], keys: Sequence[str | None]) -> tuple[list, list[str], str]:
    """New ids and task ids for ``items`` (stored params and their JSON), and the JSON array
    ``[id, task_id, key, params]`` per item that the insert statements read."""
    ids = [new_id() for _ in items]
    task_ids = [new_task_id() for _ in items]
    document = "[" + ",".join(f'["{goal_id}","{task_id}",{"null" if key is None else json.dumps(key)},{encoded}]'
                              for goal_id, task_id, key, (_stored, encoded) in zip(ids, task_ids, keys, items,
                                                                                   strict=True)) + "]"
    return ids, task_ids, document


def _insert_batch(kind: str, max_attempts: int, items: list[tuple[Any, str]], keys: list[str | None],
                  owner_id: Any, deadline: datetime | None, cause: str, actor: str) -> dict[int, Goal]:
    """Insert one batch; returns the goals inserted by their position in the batch."""
    ids, task_ids, document = items_document(items, keys)
    values = {"items": document, "kind": kind, "state": GoalState.PENDING.value, "max_attempts": max_attempts,
              "owner_id": owner_id, "deadline": deadline, "cause": cause, "actor": actor}
    with connection.cursor() as cursor:
        cursor.execute(_insert_many_statement(), values)
        created_at, skipped = cursor.fetchone()
    # The goals as from_db builds them, from what is known here and the created_at the server gave.
    known = {**_DATABASE_DEFAULTS, "kind": kind, "state": GoalState.PENDING.value, "attempt": 1,
             "max_attempts": max_attempts, "progress_current": 0, "progress_message": "", "owner_id": owner_id,
             "deadline": deadline}
    template = [known.get(name) for name in _GOAL_FIELDS]
    template[_CREATED_AT] = created_at
    not_inserted = {position - 1 for position in skipped}  # ordinality counts from 1
    built = {}
    for index, (goal_id, task_id, key, (stored, _encoded)) in enumerate(zip(ids, task_ids, keys, items, strict=True)):
        if index in not_inserted:
            continue
        values = template.copy()
        values[_ID], values[_PARAMS], values[_TASK_ID], values[_KEY] = goal_id, stored, task_id, key
        built[index] = Goal.from_db(connection.alias, _GOAL_FIELDS, values)
    return built


_GOAL_FIELDS = [field.attname for field in Goal._meta.concrete_fields]
# What the database fills in for the columns the statement does not name.
_DATABASE_DEFAULTS = {field.attname: getattr(field.db_default, "value", field.db_default)
                      for field in Goal._meta.concrete_fields if field.db_default is not NOT_PROVIDED}
_ID, _PARAMS, _TASK_ID, _KEY, _CREATED_AT = (
    _GOAL_FIELDS.index(name) for name in ("id", "params", "task_id", "idempotency_key", "created_at"))


def _resolve_keys(kind: str, checked: list[tuple[Any, str]], keys: list[str | None],
                  goals: list[Goal | None]) -> None:
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
            conflicts[f"{index}.idempotency_key"] = ValidationError(
                f"already used for goal {found.pk} with different params", code="idempotency_conflict")
        goals[index] = found
    if conflicts:
        raise GoalValidationError(conflicts, code="idempotency_conflict")
