"""The schedule scenario's check (``faults.schedules.policy_problems``) catches each way a schedule's
goals and journal could break its catch-up policy: a ledger that keeps it, then one planted fault at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from faults.schedules import Ledger, policy_problems
from goals.models import Schedule

START = datetime(2026, 12, 4, 12, tzinfo=UTC)
PERIODS = [START + timedelta(seconds=2 * n) for n in range(20)]
MISSED = PERIODS[5:15]  # the beat was down for these ten


def ledger(*, catch_up: int, given: dict | None = None, skipped: list | None = None, caught_up: list | None = None,
           miscounted: int = 0) -> Ledger:
    kept = MISSED[len(MISSED) - catch_up:] if catch_up else []
    skipped = [p for p in MISSED if p not in kept] if skipped is None else skipped
    given = {p: 1 for p in PERIODS if p not in skipped} if given is None else given
    return Ledger(PERIODS, given, skipped, kept if caught_up is None else caught_up, miscounted)


@pytest.mark.parametrize(("policy", "limit", "kept"), [("none", 1, 0), ("latest", 1, 1), ("all", 1000, 10),
                                                       ("all", 4, 4)])
def test_a_schedule_that_kept_its_policy_has_no_problem(policy, limit, kept):
    schedule = Schedule(catch_up=policy, catch_up_limit=limit)
    assert policy_problems("s", schedule, ledger(catch_up=kept), at_least=10) == []


def test_each_broken_promise_is_found():
    latest = Schedule(catch_up="latest", catch_up_limit=1)
    good = ledger(catch_up=1)
    without_a_goal = dict(good.given)
    del without_a_goal[PERIODS[2]]
    cases = {
        "no goal and not journaled": ledger(catch_up=1, given=without_a_goal),
        "with a goal and journaled as skipped": ledger(catch_up=1, given={p: 1 for p in PERIODS}),
        "two goals": ledger(catch_up=1, given={**good.given, PERIODS[0]: 2}),
        "caught-up periods without their goal": ledger(catch_up=1, given={
            p: 1 for p in PERIODS if p not in MISSED}, skipped=MISSED[:-1]),
        "count is not the periods": ledger(catch_up=1, miscounted=1),
        "periods caught up": ledger(catch_up=1, skipped=MISSED[:-2], caught_up=MISSED[-2:]),
    }
    for words, broken in cases.items():
        problems = policy_problems("s", latest, broken, at_least=10)
        assert any(words in problem for problem in problems), (words, problems)
    assert "periods missed" in " ".join(policy_problems("s", latest, good, at_least=11))
