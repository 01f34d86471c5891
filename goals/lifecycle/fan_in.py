"""When a parent's children have an outcome, so that it fans in: the rule every statement asks through
the SQL function ``goals_children_decided`` (migration 0014), and its Python twin for the worker."""

from __future__ import annotations


def children_decided(*, total: int, final: int, failed: int, failures_allowed: int | None) -> bool:
    """Whether a parent's children have an outcome: every one is final, or more failed than its policy
    tolerates (None: wait for all). The SQL twin is ``goals_children_decided`` (migration 0014), which
    every statement asks; ``tests/db/test_rule_twins.py`` holds the two equal."""
    return final >= total or failed > (total if failures_allowed is None else failures_allowed)
