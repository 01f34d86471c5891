"""A parent decided by its children, ended without a worker.

When a child's move (or the parent's own ``fan_in``) fans in a parent that has no continuation, the
children's outcome is the parent's own (``goals.lifecycle.fan_in.after_fan_in``): more failures than its
policy tolerates fail it, else it succeeds with their counts. Its next attempt would do nothing else, so
instead of queueing behind its running siblings it ends at once, in the caller's transaction, fenced on the
attempt the fan-in opened; its end cancels its active children and counts in its own parent as any end
does. Fail-fast is then fast whatever the queue holds. Lost before it commits, the parent stays
``pending`` and the reconciler sends it: its worker then ends it the same way
(``goals.families.children.continue_after_children``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from goals.exceptions import ChildrenFailed
from goals.executors.error_records import error_record
from goals.lifecycle.fan_in import ChildPolicy, aggregate
from goals.lifecycle.states import AGGREGATE, FAIL, FINAL_STATES, GoalState
from goals.lifecycle.transitions import Dispatch, Family, TransitionOutcome
from goals.models import Goal


def children_failed(goal_id: uuid.UUID | str, family: Family) -> ChildrenFailed:
    """The error of a parent whose children failed beyond its policy, naming the first few of them."""
    failed = Goal.objects.filter(parent_id=goal_id, final_state__in=[s for s in FINAL_STATES
                                                                     if s != GoalState.SUCCEEDED]).order_by(
        "child_key").values_list("child_key", "state")[:5]
    named = ", ".join(f"{key} ({state})" for key, state in failed)
    policy = ChildPolicy(family.failures_allowed)
    return ChildrenFailed(f"{family.failed} of {family.total} children did not succeed ({policy}): {named}")


def conclude_parents(outcomes: Sequence[TransitionOutcome], *, cause: str, actor: str,
                     move: Callable[..., TransitionOutcome]) -> list[TransitionOutcome]:
    """End the goals these moves fanned in that need no worker, each by ``move`` (which applies the end's
    own consequences); returns their outcomes. A goal is fanned in by a child's end (its parent) or by its
    own ``fan_in`` move (children that ended before it waited, or the reconciler's repair)."""
    decided: dict[str, tuple[Dispatch, Family]] = {}
    for outcome in outcomes:
        if outcome.concludes_parent and outcome.fanned_in is not None and outcome.fanned_in_family is not None:
            decided.setdefault(str(outcome.fanned_in.goal_id), (outcome.fanned_in, outcome.fanned_in_family))
        if outcome.concludes_itself and outcome.family is not None:
            own = Dispatch(goal_id=outcome.goal_id, attempt=outcome.attempt, task_id=outcome.task_id,
                           kind=outcome.run_kind)
            decided.setdefault(str(outcome.goal_id), (own, outcome.family))
    ended = []
    for goal, family in decided.values():
        common: dict[str, Any] = {"goal_id": goal.goal_id, "attempt": goal.attempt, "cause": cause,
                                  "actor": actor, "details": {"decided_by": "children"}}
        if family.conclusion == FAIL:
            error = error_record(children_failed(goal.goal_id, family), "")
            ended.append(move(FAIL, error=error, **common))
        else:
            result = aggregate(total=family.total, final=family.final, failed=family.failed)
            ended.append(move(AGGREGATE, result=result, set_result=True, **common))
    return ended
