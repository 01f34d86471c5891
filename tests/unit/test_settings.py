"""Settings: the system checks catch malformed GOALS_* and unsafe Celery settings; production refuses
to start without its secrets and services."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from config.settings.env import env_bool, env_int
from goals.checks.settings import check_goal_settings
from goals.conf import goal_settings
from tests.conftest import ROOT, service_env


def check_ids(problems) -> list[str]:
    return sorted(problem.id for problem in problems)


def test_project_settings_pass_every_check():
    assert check_goal_settings(None) == []
    call_command("check", "--fail-level", "WARNING")


@pytest.mark.parametrize(
    ("name", "value", "expected_id"),
    [
        ("GOALS_PROGRESS_INTERVAL", "fast", "goals.E001"),
        ("GOALS_MAX_PARAMS_BYTES", 1.5, "goals.E001"),
        ("GOALS_MAX_PARAMS_BYTES", True, "goals.E001"),
        ("GOALS_TASK_QUEUE", 7, "goals.E001"),
        ("GOALS_MAX_PARAMS_BYTES", 0, "goals.E002"),
        ("GOALS_DEFAULT_MAX_ATTEMPTS", -1, "goals.E002"),
        ("GOALS_RETRY_BACKOFF_MIN", -0.5, "goals.E002"),
        ("GOALS_API_PAGE_SIZE", 0, "goals.E002"),
        ("GOALS_METRICS", "public", "goals.E003"),
        ("GOALS_METRICS", "token", "goals.E003"),
    ],
)
def test_malformed_goal_setting_fails_manage_py_check(name, value, expected_id):
    with override_settings(**{name: value}):
        assert check_ids(check_goal_settings(None)) == [expected_id]
        with pytest.raises(SystemCheckError, match=name):
            call_command("check")


@pytest.mark.parametrize(("grace", "interval", "expected"), [(60, 5, []), (10, 5, []), (9.9, 5, ["goals.W005"]),
                                                              (0, 1, ["goals.W005"])])
def test_a_schedule_grace_shorter_than_two_releases_is_warned_of(grace, interval, expected):
    with override_settings(GOALS_SCHEDULE_GRACE=grace, GOALS_RELEASE_INTERVAL=interval):
        assert check_ids(check_goal_settings(None)) == expected


def test_goal_settings_accessor_merges_over_defaults():
    with override_settings(GOALS_MAX_PARAMS_BYTES=1000):
        assert goal_settings().max_params_bytes == 1000
        assert goal_settings().default_max_attempts == 3


def test_malformed_environment_values_are_refused(monkeypatch):
    monkeypatch.setenv("SOME_FLAG", "maybe")
    monkeypatch.setenv("SOME_NUMBER", "ten")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG='maybe' is not a boolean"):
        env_bool("SOME_FLAG", False)
    with pytest.raises(ImproperlyConfigured, match="SOME_NUMBER='ten' is not an integer"):
        env_int("SOME_NUMBER", 1)


def run_production_check(**env_changes: str | None) -> subprocess.CompletedProcess:
    env = service_env(DJANGO_SETTINGS_MODULE="config.settings.production", SECRET_KEY="s" * 50)
    for name, value in env_changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL"])
def test_production_refuses_to_start_without(missing):
    result = run_production_check(**{missing: None})
    assert result.returncode != 0
    assert f"{missing} must be set in production" in result.stderr


def test_production_starts_with_everything_set():
    result = run_production_check()
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_every_setting_has_its_type_default_range_and_meaning_in_the_one_schema():
    from dataclasses import fields

    from goals.conf import GoalSettings, problem

    source = (ROOT / "goals" / "conf.py").read_text()
    for field in fields(GoalSettings):
        assert problem(field, field.default) is None, f"the default of {field.name} breaks its own range"
        assert f"    {field.name}: {field.type} = setting(" in source, field.name
        # The line under the field says what it means (the docs' settings reference is built from it).
        assert source.split(f"    {field.name}: ", 1)[1].split("\n", 2)[1].strip().startswith('"""'), field.name
