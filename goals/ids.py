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
import threading
import time
import uuid
from datetime import UTC, datetime

_RAND_A_BITS, _RAND_B_BITS = 12, 62
# The 48 bits of milliseconds and the 12 bits below them, as one 60-bit timestamp, last handed out here.
_last_stamp = 0
_lock = threading.Lock()


def _next_stamp() -> int:
    """Milliseconds and 1/4096 of a millisecond (RFC 9562, section 6.2, method 3), never repeating or going
    back within this process: ids made in a row sort in the order they were made (the children of one
    ``spawn_many``, the goals of one ``submit_many``), even within one tick of the clock."""
    global _last_stamp
    nanos = time.time_ns()
    stamp = (nanos // 1_000_000) << _RAND_A_BITS | (nanos % 1_000_000) * (1 << _RAND_A_BITS) // 1_000_000
    with _lock:
        _last_stamp = stamp = max(stamp, _last_stamp + 1)
    return stamp


def new_id() -> uuid.UUID:
    """A fresh UUIDv7: 48 bits of Unix time in ms and 12 of its fraction, version 7, 62 random bits, the
    RFC variant."""
    stamp = _next_stamp()
    millis, fraction = stamp >> _RAND_A_BITS, stamp & ((1 << _RAND_A_BITS) - 1)
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << _RAND_B_BITS) - 1)
    value = (millis & ((1 << 48) - 1)) << 80 | 0x7 << 76 | fraction << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def id_time(value: uuid.UUID | str) -> datetime:
    """When the id was made, to the millisecond (its first 48 bits): a goal's submit, without reading its row."""
    millis = uuid.UUID(str(value)).int >> 80
    return datetime.fromtimestamp(millis / 1000, UTC)


# Characters of an id shown where a list has no room for it whole (the whole id stays on hover and in the link).
SHORT_ID_LENGTH = 8


def short_id(value: object) -> str:
    """The random end of an id, which tells goals apart: the start of a UUIDv7 is its time, the same for
    every goal made within about a minute."""
    return str(value)[-SHORT_ID_LENGTH:]


def new_task_id() -> str:
    """A Celery task id for a new attempt: a UUIDv7 string, for the same index locality as goal ids."""
    return str(new_id())
