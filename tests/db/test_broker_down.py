"""Submits with the broker unreachable: a real separate process whose broker is a closed port."""

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
