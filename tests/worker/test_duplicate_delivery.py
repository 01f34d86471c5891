"""At-least-once delivery end to end: the same task message delivered twice runs the executor once."""

from __future__ import annotations

import pytest

from goals.api import submit
from goals.conf import goal_settings
from goals.models import EventType
from goals.states import GoalState
from goals.tasks import execute_goal
from tests.conftest import wait_final, wait_for

pytestmark = pytest.mark.worker


def test_same_message_published_twice_runs_once(worker):
    goal = submit("tests.count", {"to": 3, "delay": 0.25})
    # The broker hands out a second copy of the very same message (same task id, same attempt).
    execute_goal.apply_async(args=(str(goal.id), 1), task_id=goal.task_id, queue=goal_settings().task_queue)

    goal = wait_final(goal.id, worker=worker)
    assert goal.state == GoalState.SUCCEEDED
    assert goal.result == {"counted": 3}
    wait_for(goal.id, lambda g: g.events.filter(event=EventType.IGNORED).exists(), worker=worker)

    transitions = list(goal.events.filter(event=EventType.TRANSITION).values_list("transition", flat=True))
    assert transitions.count("start") == 1
    assert transitions.count("succeed") == 1
    [ignored] = goal.events.filter(event=EventType.IGNORED)
    assert (ignored.transition, ignored.attempt, ignored.task_id) == ("start", 1, goal.task_id)
    assert ignored.from_state in (GoalState.RUNNING, GoalState.SUCCEEDED)
    assert goal.attempts.count() == 1
    progress_writes = [s for s in worker.statements(goal.id) if "SET progress_current" in s["sql"]]
    assert len(progress_writes) == 3, "the executor ran once"
