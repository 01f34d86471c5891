"""What an operator changes about a kind while it runs: its concurrency limit (``goals.executors.limits``).

The change is one statement (``set_kind_concurrency``) and takes effect at the next start, across every
worker, with no restart and no migration. A raised limit admits held goals at once, in the same
transaction, and sends them once it commits.
"""

from __future__ import annotations

import json

from django.db import transaction

from goals.exceptions import GoalValidationError, UnknownExecutor
from goals.executors.registry import get_executor
from goals.lifecycle import store
from goals.lifecycle.transitions import admit_held
from goals.models import KindControl
from goals.submitting.moves import send_after_commit


def set_concurrency(*, kind: str, limit: int | None, actor: str, cause: str) -> KindControl:
    """At most ``limit`` goals of ``kind`` running at once (per key, if its executor gives a key); None goes
    back to the executor's own ``concurrency``. Raises ``GoalValidationError`` for an unknown kind or a limit
    that is not a positive integer, with nothing written."""
    try:
        spec = get_executor(kind)
    except UnknownExecutor:
        raise GoalValidationError({"kind": f"unknown kind {kind!r}"}, code="unknown_kind") from None
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise GoalValidationError({"concurrency": f"must be a positive integer or None, not {limit!r}"},
                                  code="invalid")
    declared = spec.concurrency.limit if spec.concurrency is not None else None
    with transaction.atomic():
        admits = store.set_kind_concurrency(kind=kind, concurrency=limit, declared=declared, actor=actor)
        keys = {(k, key) for k, key in json.loads(admits)} if admits else set()
        send_after_commit([], admit_held(keys, cause=cause, actor=actor))
    return KindControl.objects.get(pk=kind)
