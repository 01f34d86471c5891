"""A parent's policy for its children's failures, and how far its children have come: plain values,
with nothing to import, for every module that shows a family (the API's JSON, the pages, the admin)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChildPolicy:
    """How many failed children a parent tolerates before it fails; None waits for all of them."""

    failures_allowed: int | None

    def __str__(self) -> str:
        if self.failures_allowed is None:
            return "wait for all"
        return "fail fast" if self.failures_allowed == 0 else f"tolerate {self.failures_allowed} failed"


FAIL_FAST = ChildPolicy(0)
"""The first failed child fails the parent, and the parent's end cancels the children still active."""
WAIT_FOR_ALL = ChildPolicy(None)
"""Every child ends first. The continuation then decides; without one, any failed child fails the parent."""


def tolerate(failures: int) -> ChildPolicy:
    """Up to ``failures`` failed children are tolerated; one more fails the parent (as ``FAIL_FAST``)."""
    if not isinstance(failures, int) or failures < 0:
        raise ValueError("tolerate() takes a number of failed children, 0 or more")
    return ChildPolicy(failures)


def whole_progress(total: int, final: int, running_share: float = 0.0) -> float:
    """How far a parent's children have come, 0 to 1: the final ones, plus the share of the active ones'
    own progress (each at most one child)."""
    return min(1.0, (final + running_share) / total) if total else 0.0

