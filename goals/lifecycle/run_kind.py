"""Which executor runs a goal's current attempt (or, while it waits, its next one): the continuation it
handed back with (``wait`` sets it, ``retry`` clears it), else its own kind's.

Its idempotency, queue, time limits and heartbeat timeout are that executor's, whoever asks: the worker
running the attempt, a redelivered message of it, the reconciler, the admin's stale filter. The rule has
one definition per language it is asked in, and a test holds them equal on a grid
(``tests/db/test_rule_twins.py``): ``run_kind`` for Python, the SQL function ``goals_run_kind`` (created by
migration 0013) that every statement calls, and ``RunKind`` for querysets, which calls that function.
"""

from __future__ import annotations

from django.db.models import CharField, F, Func


def run_kind(kind: str, continuation: str) -> str:
    """The executor that runs the attempt of a goal of ``kind`` with ``continuation`` ('' for none)."""
    return continuation or kind


class RunKind(Func):
    """``goals_run_kind(kind, continuation)`` of the queryset's goals, for ``.alias()`` or ``.annotate()``."""

    function = "goals_run_kind"
    output_field = CharField()

    def __init__(self) -> None:
        super().__init__(F("kind"), F("continuation"))

