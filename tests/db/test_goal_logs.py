"""Log lines about a goal carry its id, kind and attempt as structured fields (``goals.logs``)."""

from __future__ import annotations

import ast
import json
import logging

import pytest

from goals.api import pause_kind
from goals.lifecycle.states import GoalState
from goals.logs import GoalContextFilter, JsonFormatter, running_goal
from goals.worker import callbacks
from tests.factories import make_goal
from tests.paths import ROOT


def _fields(record: logging.LogRecord) -> tuple:
    return record.goal_id, record.goal_kind, record.goal_attempt


@pytest.mark.django_db
def test_a_refused_callback_is_logged_with_the_goals_fields(caplog):
    goal = make_goal(kind="tests.noop", state=GoalState.RUNNING, attempt=2)
    with caplog.at_level(logging.INFO, logger="goals.worker.callbacks"):
        callbacks.attempt_succeeded(goal_id=str(goal.pk), attempt=1, task_id="stale", worker="w", result=None,
                                    progress=None, result_row=None)
    [record] = [record for record in caplog.records if "ignored" in record.getMessage()]
    assert _fields(record) == (str(goal.pk), "tests.noop", 1)


@pytest.mark.django_db
def test_a_goal_held_by_a_pause_is_logged_with_the_goals_fields(caplog, kept_sends):
    goal = make_goal(kind="tests.noop", state=GoalState.QUEUED)
    pause_kind("tests.noop", reason="incident")
    with caplog.at_level(logging.INFO, logger="goals.worker.callbacks"):
        assert callbacks.attempt_started(goal_id=str(goal.pk), attempt=1, task_id=goal.task_id, worker="w",
                                         redelivered=False) is None
    [record] = [record for record in caplog.records if "held" in record.getMessage()]
    assert _fields(record) == (str(goal.pk), "tests.noop", 1)


def test_the_filter_gives_lines_made_while_an_attempt_runs_its_goal_and_the_formatter_prints_json():
    handler_output = []

    class Keep(logging.Handler):
        def emit(self, record):
            handler_output.append(self.format(record))

    handler = Keep()
    handler.addFilter(GoalContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.an_executor")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with running_goal("0190aaaa-0000-7000-8000-000000000001", "reports.build", 3):
            logger.info("rendering %s", "part 1")
        logger.info("after the attempt")
    finally:
        logger.removeHandler(handler)
    during, after = map(json.loads, handler_output)
    assert (during["message"], during["goal_id"], during["goal_kind"], during["goal_attempt"]) == (
        "rendering part 1", "0190aaaa-0000-7000-8000-000000000001", "reports.build", 3)
    assert "goal_id" not in after
    assert after["level"] == "INFO"


def _goal_log_calls_without_extra() -> list[str]:
    """Every ``logger.<level>(...)`` call of the package whose message speaks of a goal (``goal %s``) but
    passes no ``extra=``."""
    missing = []
    for path in sorted((ROOT / "goals").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "logger"
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
                    and "goal %s" in node.args[0].value and not any(k.arg == "extra" for k in node.keywords)):
                missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return missing


def test_every_line_goaltrack_writes_about_a_goal_passes_its_fields():
    assert _goal_log_calls_without_extra() == []
