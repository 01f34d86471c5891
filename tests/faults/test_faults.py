"""The fault-injection scenarios (``faults.scenarios``) at their short sizes, against real workers,
the session's Redis and the test database. ``make faults`` runs them at full size."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection

from faults.outages import rabbitmq_reachable, rabbitmq_url
from faults.processes import Stage
from faults.scenarios import SCENARIOS
from tests.conftest import database_url


@pytest.fixture
def stage(transactional_db, tmp_path) -> Stage:
    return Stage(database_url=database_url(connection.settings_dict), broker_url=settings.CELERY_BROKER_URL,
                 folder=tmp_path, base_settings="config.settings.test", queue=f"goals-faults-{os.getpid()}")


# What shows that each scenario's fault really happened (its own problems cover the rest).
FAULT_HAPPENED = {
    "child-sigkill": lambda figures: figures["children killed"] > 0,
    "worker-sigkill": lambda figures: figures["orphans"] > 0,
    "crash-before-publish": lambda figures: figures["unsent at death"] > 0,
    "duplicate-delivery": lambda figures: figures["deliveries"] > figures["goals"],
    "broker-down-at-submit": lambda figures: figures["publishes failed"] > 0,
    "rabbitmq-down-at-submit": lambda figures: figures["publishes failed"] > 0,
    "broker-restart": lambda figures: figures["running at the kill"] > 0,
    "database-down": lambda figures: figures["running when it came back"] > 0,
    "poison-input": lambda figures: figures["logged"] == figures["poison messages"] > 0,
    "beat-storm": lambda figures: figures["goals never sent"] > 0 and figures["scheduled passes"] > 0,
    "deferred-kill": lambda figures: figures["scheduled at the kill"] == figures["goals"] > 0,
    "schedule-catch-up": lambda figures: figures["fewest missed"] >= 5,
    "events-outage": lambda figures: figures["503 answers"] > 0 and figures["duplicates answered 200"] > 0,
    "expired-results": lambda figures: figures["result rows before cleanup"] > 0 and figures["after"] == 0,
    "late-callbacks": lambda figures: figures["examples"] >= 100,
    "load": lambda figures: figures["goals accepted"] > 0 and figures["status polls"] > 0,
    "limits-kill": lambda figures: figures["children killed"] > 0 and figures["attempts lost with a slot"] > 0,
    "limits-database-down": lambda figures: figures["slots held at the cut"] > 0,
    "families": lambda figures: figures["pool children killed"] > 0 and figures["copies published"] > 0,
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_loses_nothing_doubles_nothing_and_misreports_nothing(stage, name):
    if name.startswith("rabbitmq") and not rabbitmq_reachable():
        message = f"RabbitMQ is not reachable at {rabbitmq_url()} (FAULTS_RABBITMQ_URL; .ci/run starts it)"
        if os.environ.get("GOALS_REQUIRE_RABBITMQ"):
            pytest.fail(message)
        pytest.skip(message)
    scenario = SCENARIOS[name]
    outcome = scenario.run(stage, **scenario.short)
    assert outcome.problems == [], f"{outcome.figures}; logs in {stage.folder}"
    if outcome.verdict is not None:  # None: the scenario checked every goal as it went (late-callbacks)
        assert outcome.verdict.goals > 0
        assert outcome.verdict.terminal == outcome.verdict.goals
    assert FAULT_HAPPENED[name](outcome.figures), outcome.figures
