"""A parent and its children's outcome: the policy it waits with, when that outcome is known (it fans
in: the rule every statement asks through the SQL function ``goals_children_decided``, migration 0014,
with its Python twin here), and what follows it. Plain values with nothing to import, for every layer
that shows or decides a family.
"""

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


def children_decided(*, total: int, final: int, failed: int, failures_allowed: int | None) -> bool:
    """Whether a parent's children have an outcome: every one is final, or more failed than its policy
    tolerates (None: wait for all). The SQL twin is ``goals_children_decided`` (migration 0014), which
    every statement asks; ``tests/db/test_rule_twins.py`` holds the two equal."""
    return final >= total or failed > (total if failures_allowed is None else failures_allowed)


class Next:
    """What a fanned-in parent's next attempt does (``after_fan_in``)."""

    CONTINUE = "continue"
    """Run the continuation it handed back with: a worker's job."""
    FAIL = "fail"
    """More children failed than its policy tolerates: it fails, with no worker."""
    AGGREGATE = "aggregate"
    """No continuation, and its children's failures tolerated: it succeeds with their counts, with no worker."""


def after_fan_in(*, continuation: str, failed: int, failures_allowed: int | None) -> str:
    """The one rule for a parent whose children's outcome is known. A continuation runs unless more
    children failed than a tolerating policy allows (a continuation waiting for all decides for itself);
    without one, any failure beyond the policy (every failure, waiting for all) fails the parent."""
    tolerated = failures_allowed is not None and failed <= failures_allowed
    if continuation and (tolerated or failures_allowed is None):
        return Next.CONTINUE
    if failed and not tolerated:
        return Next.FAIL
    return Next.AGGREGATE


def aggregate(*, total: int, final: int, failed: int) -> dict[str, dict[str, int]]:
    """The result of a parent that succeeds with its children's counts."""
    return {"children": {"total": total, "succeeded": final - failed, "failed": failed}}
