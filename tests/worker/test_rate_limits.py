"""A rate limit on the real worker: held goals are released at their turn by their timer (no beat runs here),
start then, and no window of the rate's period holds more starts than it allows, from the recorded start
times (goals.executors.limits)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from goals.api import submit_many
from goals.lifecycle.states import GoalState
from goals.models import Attempt, GoalEvent
from tests.conftest import wait_final

pytestmark = pytest.mark.worker


def most_in_any_window(starts: list, period: timedelta) -> int:
    """The most starts in any span of ``period`` (each start opens one: the worst span begins at a start)."""
    ordered = sorted(starts)
    return max(sum(1 for other in ordered[i:] if other < start + period) for i, start in enumerate(ordered))


def test_most_in_any_window_counts_the_worst_span():
    second = timedelta(seconds=1)
    assert most_in_any_window([timedelta(seconds=s) for s in (0, 0.5, 0.99, 1.0, 1.6)], second) == 3


def test_goals_over_the_rate_start_at_their_turns_and_no_window_holds_more(worker):
    goals = submit_many("tests.rated", [{"tenant": "acme"}] * 8)
    finals = [wait_final(goal.id, worker=worker, timeout=60) for goal in goals]
    assert {(goal.state, goal.attempt) for goal in finals} == {(GoalState.SUCCEEDED, 1)}
    starts = list(Attempt.objects.filter(goal__in=goals).values_list("started_at", flat=True))
    assert most_in_any_window(starts, timedelta(seconds=1)) <= 2
    held = GoalEvent.objects.filter(goal__in=goals, transition="hold", details__for="rate").count()
    released = GoalEvent.objects.filter(goal__in=goals, transition="release").count()
    assert held >= 5, "8 goals at two a second on two processes: most waited for their turn"
    assert released == held
    assert max(starts) - min(starts) >= timedelta(seconds=3.4), "one every half second at the most"
