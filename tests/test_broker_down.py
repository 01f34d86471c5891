"""Submit with the broker unreachable: a real separate process whose broker is a closed port."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from goals.models import EventType, Goal
from goals.states import GoalState
from tests.conftest import ROOT, service_env

SUBMIT = """
import json, time, django
django.setup()
from goals.api import submit
started = time.monotonic()
goal = submit("tests.typed", {"name": "while the broker is down"})
print(json.dumps({"id": str(goal.id), "seconds": time.monotonic() - started}))
"""


@pytest.mark.django_db(transaction=True)
def test_submit_with_broker_down_returns_quickly_and_keeps_the_goal_pending():
    done = subprocess.run(
        [sys.executable, "-c", SUBMIT], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env=service_env(CELERY_BROKER_URL="redis://127.0.0.1:1/0"),
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # "About a second": the connection timeout and one retry, not Celery's default minutes of retrying.
    assert report["seconds"] < 3.0, report
    goal = Goal.objects.get(pk=report["id"])
    assert (goal.state, goal.queued_at) == (GoalState.PENDING, None)
    failed = goal.events.get(event=EventType.PUBLISH_FAILED)
    assert (failed.attempt, failed.task_id, failed.cause) == (1, goal.task_id, "publisher")
    assert "Error" in failed.details["error"]
