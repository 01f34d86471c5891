"""A pass that must send goals while the broker is unreachable: a real separate process whose broker is a
closed port. Nothing sent is recorded as sent; every goal keeps its attempt for a later pass."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from goals.lifecycle.states import GoalState
from goals.models import Action, EventType, Goal
from tests.conftest import ROOT, service_env
from tests.factories import make_goal


@pytest.mark.django_db(transaction=True)
def test_goals_a_pass_cannot_send_stay_pending_with_the_failure_journaled():
    old = timezone.now() - timedelta(minutes=10)
    never_sent = [make_goal(state=GoalState.PENDING, now=old) for _ in range(5)]
    lost = make_goal(state=GoalState.QUEUED, queued_at=timezone.now() - timedelta(hours=2))
    make_goal(state=GoalState.RUNNING)  # submitted after it and started: its queue moved on

    done = subprocess.run(
        [sys.executable, "manage.py", "reconcile", "--json"], cwd=ROOT, capture_output=True, text=True,
        timeout=120, env=service_env(CELERY_BROKER_URL="redis://127.0.0.1:1/0"),
    )

    assert done.returncode == 0, done.stderr
    findings = {f["goal_id"]: f for f in json.loads(done.stdout)["findings"]}
    for goal in never_sent:
        goal.refresh_from_db()
        assert (goal.state, goal.attempt, goal.queued_at) == (GoalState.PENDING, 1, None)
        assert goal.events.filter(event=EventType.PUBLISH_FAILED, attempt=1).count() == 1
        assert (findings[str(goal.id)]["action"], findings[str(goal.id)]["after_state"]) == (
            Action.SEND_FAILED, GoalState.PENDING)
    lost.refresh_from_db()
    assert (lost.state, lost.attempt) == (GoalState.PENDING, 2), "re-dispatched, waiting to be sent"
    assert lost.events.filter(event=EventType.PUBLISH_FAILED, attempt=2).count() == 1
    assert findings[str(lost.id)]["action"] == Action.REDISPATCHED
    assert "broker unreachable" in findings[str(lost.id)]["evidence"]["note"]
    assert Goal.objects.filter(state=GoalState.QUEUED).count() == 0
