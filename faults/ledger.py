"""Recording an executor's effect in the ledger, idempotently by its key (the goal id and the effect)."""

from __future__ import annotations

import os

from django.db import connection, transaction

from faults.models import Effect
from goals.worker.context import ExecutionContext


def record_effect(ctx: ExecutionContext, effect: str) -> bool:
    """Make ``effect`` of the running goal once: True if this run made it, False if an earlier attempt had.

    Both cases write a ledger row. The transaction-scoped advisory lock on the key serializes two runs
    of one goal (an attempt and its successor after a lost worker), and the second statement sees what
    the first run committed: the check and the write cannot interleave.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"{ctx.goal_id}:{effect}"])
        made = not Effect.objects.filter(goal_id=ctx.goal_id, effect=effect, made=True).exists()
        Effect.objects.create(goal_id=ctx.goal_id, effect=effect, attempt=ctx.attempt, pid=os.getpid(), made=made)
    return made
