"""Goals made of goals: an executor starts child goals, hands back control, and its goal continues once
its children's outcome is known.

    @executor("reports.monthly")
    def monthly_report(ctx, *, month):
        ctx.spawn_many("reports.account", [{"account": a} for a in ACCOUNTS], keys=ACCOUNTS)
        return ctx.wait_for_children(then="reports.merge")        # the goal is now "waiting"

    @executor("reports.merge")
    def merge_report(ctx, *, month):                               # the same goal, its next attempt
        return {"accounts": {child.key: child.result for child in ctx.children()}}

A child is a goal like any other, with a parent and a key unique among its siblings: spawning a key
again (an attempt run again after its worker died) returns the child it names. Its owner is the
parent's, and its deadline no later than the parent's.

The count is the database's. Each child's final transition adds itself to its parent's counts in the
same statement, and when that makes the outcome known (every child final, or more failed than the
policy tolerates) it moves the parent on, ``waiting`` to ``pending`` at a new attempt, also in that
statement (``move_goals`` in ``goals/lifecycle/sql/moves.sql``). The parent's row lock orders two
children finishing at once, and the move is fenced on ``waiting`` like any transition: duplicate
callbacks, repairs and races can neither fire it twice nor miss it. Whoever made the child final sends
the parent's new attempt (``goals.submitting.moves``); lost on the way, the parent stays ``pending`` and the
reconciler sends it.

That attempt runs the continuation (``then=``, any registered executor, called with the parent's
params). A parent with nothing to continue (no continuation, or more failures than its policy
tolerates) needs no worker: ``goals.submitting.conclusions`` ends it in the same transaction, succeeded
with its children's counts as its result or failed (``ChildrenFailed``). A parent that ends, however it
ends, cancels its active descendants in the statement that ends it (journaled with cause ``parent``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from goals import tracing
from goals.exceptions import GoalNoLongerRunning, GoalValidationError
from goals.executors.validation import Checked, checked_items, validate_options
from goals.ids import new_task_id
from goals.lifecycle import store
from goals.lifecycle.fan_in import ChildPolicy, Next, aggregate
from goals.lifecycle.states import RETRY, RETRYABLE_STATES, GoalState
from goals.lifecycle.transitions import Family, GoalMove
from goals.models import Cause, Goal
from goals.submitting.conclusions import children_failed
from goals.submitting.moves import move_many
from goals.submitting.publish import Dispatch
from goals.submitting.sender import send_many
from goals.submitting.submit import BATCH_SIZE, items_document


@dataclass(frozen=True)
class WaitForChildren:
    """What ``ctx.wait_for_children()`` returns, for the executor to return in turn."""

    policy: ChildPolicy
    then: str


@dataclass(frozen=True)
class ChildOutcome:
    """A child as its parent's continuation sees it."""

    id: uuid.UUID
    key: str
    kind: str
    state: str
    result: Any
    error: dict[str, Any] | None

    @property
    def succeeded(self) -> bool:
        return self.state == GoalState.SUCCEEDED


def spawn_children(*, parent_id: uuid.UUID | str, attempt: int, kind: str, params_list: Sequence[Any],
                   keys: Sequence[str], deadline: datetime | None, actor: str) -> list[uuid.UUID]:
    """Start one child of ``kind`` per params under the parent's running ``attempt``, keyed by ``keys``;
    returns the children's ids in order (a key already used returns its child, which must be of the same
    kind and params). Sent once the current transaction commits. Raises ``GoalNoLongerRunning`` when
    the attempt is not the parent's running one, and ``GoalValidationError`` for a bad item (nothing
    is written then)."""
    validate_options(None, deadline)
    if len(keys) != len(params_list):
        raise GoalValidationError({"keys": f"{len(keys)} keys for {len(params_list)} children: give one per child"},
                                  code="invalid")
    if not params_list:
        return []
    spec, checked = checked_items(kind, params_list, keys, key_field="key")
    ids: list[uuid.UUID | None] = [None] * len(checked)
    sent: list[Dispatch] = []
    # Submitted under the parent's attempt span when traced: the children's attempts are in its trace.
    with tracing.submitting(kind, len(checked)) as trace_context, transaction.atomic():
        for start in range(0, len(checked), BATCH_SIZE):
            batch_keys = list(keys[start:start + BATCH_SIZE])
            batch_ids, task_ids, document = items_document(checked[start:start + BATCH_SIZE], batch_keys)
            running, _created_at, _scheduled, skipped = store.insert_goals(
                kind=kind, items=document, max_attempts=spec.max_attempts, owner_id=None, deadline=deadline,
                rated=spec.rate is not None, capacity=spec.concurrency.limit if spec.concurrency else None,
                cause=Cause.EXECUTOR, actor=actor, parent_id=parent_id, parent_attempt=attempt,
                trace_context=trace_context)
            if not running:
                raise GoalNoLongerRunning(parent_id, attempt)
            not_inserted = {position - 1 for position in skipped}  # ordinality counts from 1
            for offset, (child_id, task_id) in enumerate(zip(batch_ids, task_ids, strict=True)):
                if offset not in not_inserted:
                    ids[start + offset] = child_id
                    sent.append(Dispatch(goal_id=child_id, attempt=1, task_id=task_id, kind=kind))
        transaction.on_commit(partial(send_many, sent))
        _run_again(_existing_children(parent_id, kind, checked, keys, ids), budget=spec.max_attempts, actor=actor)
    return [child_id for child_id in ids if child_id is not None]


def _existing_children(parent_id: uuid.UUID | str, kind: str, checked: list[Checked], keys: Sequence[str],
                       ids: list[uuid.UUID | None]) -> list[uuid.UUID]:
    """Fill in the children that keys already named, in one query; refuse one of another kind or params.
    Returns those that ended other than succeeded: spawned again, they run again."""
    missing = {keys[index] for index, child_id in enumerate(ids) if child_id is None}
    if not missing:
        return []
    existing = {key: (child_id, child_kind, params, state) for key, child_id, child_kind, params, state in
                Goal.objects.filter(parent_id=parent_id, child_key__in=missing).values_list(
                    "child_key", "id", "kind", "params", "state")}
    conflicts, again = {}, {}
    for index, child_id in enumerate(ids):
        if child_id is not None:
            continue
        found_id, found_kind, found_params, state = existing[keys[index]]
        if (found_kind, found_params) != (kind, checked[index][0]):
            conflicts[f"{index}.key"] = ValidationError(
                f"already names child {found_id}, of kind {found_kind} with other params", code="key_conflict")
        ids[index] = found_id
        if state in RETRYABLE_STATES:
            again[found_id] = None
    if conflicts:
        raise GoalValidationError(conflicts, code="key_conflict")
    return list(again)


def _run_again(child_ids: list[uuid.UUID], *, budget: int, actor: str) -> None:
    """Retry children that failed, were cancelled or expired, in one statement (journaled with cause
    ``parent``), sent once the transaction commits: a parent run again, after its own retry, runs again
    what did not succeed under it; what succeeded keeps its result. Each leaves its parent's counts as any
    child's retry does."""
    if child_ids:
        move_many(RETRY, [GoalMove(goal_id=child_id, attempt=None, new_task_id=new_task_id(),
                                   details={"reason": "spawned again by its parent"}) for child_id in child_ids],
                  cause=Cause.PARENT, actor=actor, budget=budget)


def children_of(goal_id: uuid.UUID | str) -> list[ChildOutcome]:
    """A goal's children, by key (one query on the (parent, key) index)."""
    rows = Goal.objects.filter(parent_id=goal_id).order_by("child_key").values_list(
        "id", "child_key", "kind", "state", "result", "error")
    return [ChildOutcome(*row) for row in rows]


# Children a parent's pages list; a family of thousands is listed, filtered by parent, in the goal lists.
CHILDREN_SHOWN = 20


def first_children(goal_id: uuid.UUID | str) -> list[Goal]:
    """The first ``CHILDREN_SHOWN`` children by key, with what a list of them shows (one query)."""
    return list(Goal.objects.filter(parent_id=goal_id).order_by("child_key").only(
        "id", "child_key", "kind", "state", "progress_current", "progress_total", "progress_message")[:CHILDREN_SHOWN])


def continue_after_children(goal_id: uuid.UUID | str, family: Family, continuation: Callable[[], Any]) -> Any:
    """Run the attempt after a fan-in as ``goals.lifecycle.fan_in.after_fan_in`` says: the ``continuation``,
    or fail, or the children's aggregate. (A parent with no continuation is usually ended before any worker
    sees it, by ``goals.submitting.conclusions``; this runs when that end was lost and the reconciler sent it.)"""
    if family.next == Next.CONTINUE:
        return continuation()
    if family.next == Next.FAIL:
        raise children_failed(goal_id, family)
    return aggregate(total=family.total, final=family.final, failed=family.failed)
