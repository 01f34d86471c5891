"""How many intervals were open at one instant: the proof that a concurrency limit held, from start and end
times rather than samples. Pure, so the fault scenarios, the tests and the benchmarks share it."""

from __future__ import annotations

from datetime import datetime


def most_at_once(intervals: list[tuple[datetime, datetime]]) -> int:
    """The most intervals open at one instant (an end before a start at the same instant: the statement that
    freed a slot committed before the one that took it began)."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    open_now = most = 0
    for _, step in edges:
        open_now += step
        most = max(most, open_now)
    return most
