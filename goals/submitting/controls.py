"""What an operator changes about a kind while it runs: its concurrency limit and its rate
(``goals.executors.limits``), and whether it runs at all (pause and resume).

Each change is one statement that also journals it (``KindEvent``, with who and why) and takes effect at the
next start, across every worker, with no restart and no migration. A raised limit admits held goals at once;
a resume takes up the goals held for the pause, oldest first, a batch per transaction; each is sent once its
transaction commits.
"""

from __future__ import annotations

import json

from django.db import transaction

from goals.exceptions import GoalValidationError, UnknownExecutor
from goals.executors.limits import Rate, rate_of
from goals.executors.registry import ExecutorSpec, get_executor
from goals.lifecycle import store
from goals.lifecycle.transitions import admit_held, admit_paused
from goals.models import KindControl
from goals.submitting.moves import send_after_commit

# Goals taken up per transaction after a resume: a long pause's backlog is sent in batches, not one statement.
RESUME_BATCH = 5_000


def _spec(kind: str) -> ExecutorSpec:
    try:
        return get_executor(kind)
    except UnknownExecutor:
        raise GoalValidationError({"kind": f"unknown kind {kind!r}"}, code="unknown_kind") from None


def set_concurrency(*, kind: str, limit: int | None, actor: str, cause: str, reason: str = "") -> KindControl:
    """At most ``limit`` goals of ``kind`` running at once (per key, if its executor gives a key); None goes
    back to the executor's own ``concurrency``. Raises ``GoalValidationError`` for an unknown kind or a limit
    that is not a positive integer, with nothing written."""
    spec = _spec(kind)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise GoalValidationError({"concurrency": f"must be a positive integer or None, not {limit!r}"},
                                  code="invalid")
    declared = spec.concurrency.limit if spec.concurrency is not None else None
    with transaction.atomic():
        admits = store.set_kind_concurrency(kind=kind, concurrency=limit, declared=declared, actor=actor,
                                            reason=reason)
        keys = {(k, key) for k, key in json.loads(admits)} if admits else set()
        send_after_commit([], admit_held(keys, cause=cause, actor=actor))
    return KindControl.objects.get(pk=kind)


def set_rate(*, kind: str, rate: str | Rate | None, actor: str, reason: str = "") -> KindControl:
    """At most ``rate`` (``"100/m"`` or a ``Rate``; its key function is the executor's) starts of ``kind`` per
    period, from the next start on; None goes back to the executor's own. Raises ``GoalValidationError`` for
    an unknown kind or a rate that is not ``<count>/<unit>``, with nothing written."""
    _spec(kind)
    try:
        parsed = rate_of(kind, rate)
    except ValueError as exc:
        raise GoalValidationError({"rate": str(exc)}, code="invalid") from None
    store.set_kind_rate(kind=kind, rate=parsed.limit if parsed else None, period=parsed.period if parsed else None,
                        actor=actor, reason=reason)
    return KindControl.objects.get(pk=kind)


def pause(*, kind: str, actor: str, reason: str) -> bool:
    """Pause ``kind``: none of its goals starts until it is resumed (each one a worker takes is held, with no
    attempt spent); those running finish. Returns False if it was paused already (nothing is written then).
    Raises ``GoalValidationError`` for an unknown kind or no reason."""
    _spec(kind)
    if not reason.strip():
        raise GoalValidationError({"reason": "say why the kind is paused: the journal and the overview show it"},
                                  code="required")
    return store.pause_kind(kind=kind, actor=actor, reason=reason)


def resume(*, kind: str, actor: str, cause: str, reason: str = "") -> int:
    """Resume ``kind`` and take up the goals held for its pause, oldest first; returns how many were taken up
    (0, and nothing written, if it was not paused)."""
    _spec(kind)
    with transaction.atomic():
        if not store.resume_kind(kind=kind, actor=actor, reason=reason):
            return 0
    resumed = 0
    while True:
        with transaction.atomic():
            admitted = admit_paused(kind, limit=RESUME_BATCH, cause=cause, actor=actor)
            send_after_commit([], admitted)
        resumed += len(admitted)
        if len(admitted) < RESUME_BATCH:
            return resumed
