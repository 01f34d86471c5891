"""At-least-once delivery end to end: the same task message delivered twice runs the executor once."""

from __future__ import annotations

import pytest

from goals.api import submit
from goals.conf import goal_settings
from goals.lifecycle.states import GoalState
from goals.models import EventType
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


def test_a_retry_message_that_outruns_its_on_retry_record_is_not_dropped(worker):
    """The next attempt's message can reach a free pool child before ``on_retry`` has recorded the retry
    (the database slow or away). Its start then finds the goal behind the message's attempt: the message
    must go back to the queue, not be acknowledged, or the goal stays ``retrying`` with nothing queued."""
    import time
    import uuid

    from goals.lifecycle.states import SCHEDULE_RETRY
    from goals.lifecycle.transitions import apply_transition
    from goals.models import Cause
    from tests.factories import make_goal

    goal = make_goal(state=GoalState.RUNNING, kind="tests.noop")
    next_task_id = str(uuid.uuid4())
    # Attempt 2's message is published (as self.retry does) while the goal still records attempt 1 running.
    execute_goal.apply_async(args=(str(goal.id), 2), task_id=next_task_id, queue=goal_settings().task_queue)
    wait_for(goal.id, lambda g: g.events.filter(event=EventType.IGNORED, attempt=2).exists(), worker=worker)
    time.sleep(1.0)
    # ...and only now does on_retry's transition commit.
    apply_transition(SCHEDULE_RETRY, goal_id=goal.id, attempt=1, cause=Cause.EXECUTOR, actor="test",
                     new_task_id=next_task_id, error={"type": "Planned", "message": "attempt 1", "traceback": ""})

    goal = wait_final(goal.id, timeout=30, worker=worker)
    assert goal.state == GoalState.SUCCEEDED
    assert goal.attempt == 2
