"""Goal and task ids: UUID version 7 (RFC 9562), whose first 48 bits are the creation time in milliseconds.

Why not ``uuid4``: a random key lands on a random leaf of every B-tree that holds it (the goal's primary
key, the journal's ``(goal, id)`` index, the attempts' ``(goal, number)`` and ``task_id`` indexes, the
task results' ``task_id``). Once those indexes outgrow memory, as they do with years of history, each
submit reads cold pages and, after every checkpoint, writes each touched page whole to the WAL. A
time-ordered key lands on the right-hand edge, so the hot path touches the same few pages however long
the history is, and pruning the oldest goals empties whole pages on the left.

What it costs: an id tells when its goal was created, to the millisecond; ``created_at`` says so anyway.
"""

from __future__ import annotations

import os
import time
import uuid

_RAND_A_BITS, _RAND_B_BITS = 12, 62


def new_id() -> uuid.UUID:
    """A fresh UUIDv7: 48 bits of Unix time in ms, version 7, 74 random bits, the RFC variant."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a = rand >> (80 - _RAND_A_BITS)
    rand_b = rand & ((1 << _RAND_B_BITS) - 1)
    value = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def new_task_id() -> str:
    """A Celery task id for a new attempt: a UUIDv7 string, for the same index locality as goal ids."""
    return str(new_id())
