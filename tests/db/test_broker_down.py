"""Submits with the broker unreachable: a real separate process whose broker is a closed port."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from goals.lifecycle.states import GoalState
from goals.models import EventType, Goal, GoalEvent
from tests.conftest import ROOT, service_env

SUBMIT = """
import json, time, django
django.setup()
from goals.api import submit
started = time.monotonic()
ids = [str(submit("tests.typed", {"name": f"goal {i}"}).id) for i in range(20)]
print(json.dumps({"ids": ids, "seconds": time.monotonic() - started}))
"""


@pytest.mark.django_db(transaction=True)
def test_submits_with_broker_down_return_at_once_and_keep_every_goal_pending_journaled():
    done = subprocess.run(
        [sys.executable, "-c", SUBMIT], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env=service_env(CELERY_BROKER_URL="redis://127.0.0.1:1/0"),
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # The caller never waits for the broker (the sender thread does, and gives up after about a second,
    # at exit at the latest): twenty submits that each waited would take about 20 s.
    assert report["seconds"] < 3.0, report
    for goal_id in report["ids"]:
        goal = Goal.objects.get(pk=goal_id)
        assert (goal.state, goal.queued_at) == (GoalState.PENDING, None)
        failed = goal.events.get(event=EventType.PUBLISH_FAILED)
        assert (failed.attempt, failed.task_id, failed.cause) == (1, goal.task_id, "publisher")
        assert "Error" in failed.details["error"]


SUBMIT_MANY = """
import json, time, django
django.setup()
from goals.submitting import sender
from goals.api import submit_many
sender.SEND_CHUNK = 7  # several chunks: the first failure gives up the rest without trying each
started = time.monotonic()
ids = [str(goal.id) for goal in submit_many("tests.typed", [{"name": f"goal {i}"} for i in range(30)])]
returned = time.monotonic() - started
sender.stop()
print(json.dumps({"ids": ids, "returned": returned, "sent": time.monotonic() - started}))
"""


@pytest.mark.django_db(transaction=True)
def test_a_bulk_submit_with_the_broker_down_gives_up_at_the_first_failure_and_keeps_every_goal_pending():
    done = subprocess.run(
        [sys.executable, "-c", SUBMIT_MANY], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env=service_env(CELERY_BROKER_URL="redis://127.0.0.1:1/0"),
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["returned"] < 3.0, report
    goals = Goal.objects.filter(pk__in=report["ids"])
    assert len(goals) == 30
    assert {goal.state for goal in goals} == {GoalState.PENDING}
    failures = {event.goal_id: event for event in
                GoalEvent.objects.filter(goal__in=goals, event=EventType.PUBLISH_FAILED)}
    assert len(failures) == 30, "every goal's publish_failed is journaled, each once"
    assert all("Error" in event.details["error"] for event in failures.values())
    # One failure gives up every chunk, journaled together, rather than each chunk trying the broker.
    assert len({event.created_at for event in failures.values()}) == 1
