"""Goals that start later: released when due, then sent like any other.

A goal submitted with ``run_after`` (or ``countdown``) waits as ``scheduled`` in PostgreSQL: no message in
a broker or a worker's memory, where a delay longer than Redis' visibility timeout is delivered twice. Beat
runs ``release_due_goals`` every ``GOALS_RELEASE_INTERVAL`` seconds (the ``goals: release`` entry): each
batch claims the due goals with ``SKIP LOCKED`` and moves them to ``pending`` at their attempt, in one
fenced statement (``move_goals``), so a second beat or a manual run shares the work and never releases a
goal twice; the sender publishes them once the batch commits. A release lost before it is published leaves
the goal ``pending``, which the reconciler sends after its grace period, as any goal not sent.
"""

from __future__ import annotations

from django.db import transaction

from goals.actors import process_name
from goals.lifecycle import store
from goals.lifecycle.states import RELEASE
from goals.lifecycle.transitions import GoalMove
from goals.models import Cause
from goals.submitting.moves import move_many

# Goals released per transaction: one claim and one move each, whatever the number.
BATCH_SIZE = 1_000


def release_due_goals(*, batch_size: int = BATCH_SIZE) -> int:
    """Release every scheduled goal whose start time has come, a batch per transaction; returns how many."""
    released = 0
    while True:
        with transaction.atomic():
            due = store.claim_due_goals(limit=batch_size)
            if due:
                outcomes = move_many(RELEASE, [GoalMove(goal_id=goal_id, attempt=None) for goal_id in due],
                                     cause=Cause.PUBLISHER, actor=process_name())
                released += sum(outcome.applied for outcome in outcomes)
        if len(due) < batch_size:
            return released
