"""The host project's settings are checked, not guessed: each gap goaltrack's promises depend on is a
system check (Error or Warning) that names the setting and the fix."""

from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import clear_url_caches

from config.celery import app
from goals.checks import host as host_checks
from goals.executors.registry import _registry, executor
from tests.conftest import ROOT, service_env


def ids(problems) -> list[str]:
    return sorted(problem.id for problem in problems)


@contextmanager
def celery_conf(**changes):
    """Change the Celery app's configuration (what the worker reads) and put it back afterwards.

    Written under the names the project's settings give them (``CELERY_*``, the app's namespace): Celery
    before 5.7 reads those first, so a change under the bare name would not be seen."""
    keys = {f"CELERY_{name.upper()}": value for name, value in changes.items()}
    # They land in the configuration's top layer, above the settings: taking them out restores what was read.
    layer = app.conf.changes
    before = {key: layer[key] for key in keys if key in layer}
    app.conf.update(keys)
    try:
        yield
    finally:
        for key in keys:
            layer.pop(key, None)
        layer.update(before)


def test_the_example_project_passes_every_host_check():
    assert host_checks.check_required_apps(None) == []
    assert host_checks.check_database(None) == []
    assert host_checks.check_routes(None) == []
    assert host_checks.check_celery(None) == []


def test_the_example_project_passes_check_deploy_with_no_goals_message(capsys):
    call_command("check", "--deploy", "--fail-level", "ERROR")
    assert "goals." not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"accept_content": ["json", "pickle"]}, ["goals.E031"]),
        ({"result_accept_content": ["yaml"]}, ["goals.E031"]),
        ({"task_serializer": "pickle"}, ["goals.E032"]),
        ({"task_always_eager": True}, ["goals.E033"]),
        ({"result_backend": "redis://127.0.0.1:6379/1"}, ["goals.W034"]),
        ({"beat_scheduler": "celery.beat:PersistentScheduler"}, ["goals.W035"]),
        ({"worker_prefetch_multiplier": 4}, ["goals.W037"]),
        # Every limit at or above it is named: the default timeout's and each longer executor's.
        ({"broker_transport_options": {"visibility_timeout": 600}}, ["goals.E038"]),
    ],
)
def test_a_celery_setting_the_promises_depend_on_is_reported(changes, expected, monkeypatch):
    # A Redis broker, whatever this run uses: the visibility timeout is Redis' (Celery reads the URL from the
    # environment first, as the worker will).
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    with celery_conf(**changes):
        problems = host_checks.check_celery(None)
    assert sorted(set(ids(problems))) == expected
    assert all(problem.hint for problem in problems)


def test_the_beat_scheduler_alias_of_django_celery_beat_is_accepted():
    with celery_conf(beat_scheduler="django"):
        assert host_checks.check_celery(None) == []


def test_an_annotation_that_takes_late_acks_from_goal_tasks_is_an_error():
    task = app.tasks["goals.execute"]
    with celery_conf():
        task.acks_late = False
        try:
            problems = host_checks.check_celery(None)
        finally:
            del task.acks_late
    assert ids(problems) == ["goals.E036"]


def test_an_executor_whose_time_limit_outlives_the_visibility_timeout_is_named(monkeypatch):
    @executor("tests.check_long", timeout=4000)
    def long_running(ctx):
        return None

    try:
        # Celery reads the broker URL from the environment first, as the worker will.
        monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
        with celery_conf():
            [problem] = host_checks.check_celery(None)
    finally:
        del _registry["tests.check_long"]
    assert problem.id == "goals.E038"
    assert "'tests.check_long'" in problem.msg


def test_rabbitmq_consumer_timeout_is_a_warning_for_long_executors(monkeypatch):
    @executor("tests.check_rabbit", timeout=2400)
    def long_running(ctx):
        return None

    try:
        monkeypatch.setenv("CELERY_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
        with celery_conf():
            assert ids(host_checks.check_celery(None)) == ["goals.W039"]
    finally:
        del _registry["tests.check_rabbit"]


def test_missing_routes_and_an_unroutable_login_url_are_reported(settings):
    settings.ROOT_URLCONF = "tests.urls_without_goals"
    clear_url_caches()
    try:
        assert ids(host_checks.check_routes(None)) == ["goals.E023"]
    finally:
        settings.ROOT_URLCONF = "config.urls"
        clear_url_caches()
    for unroutable in ("/no/such/login/", "login-name-of-no-include"):
        with override_settings(LOGIN_URL=unroutable):
            assert ids(host_checks.check_routes(None)) == ["goals.W024"], unroutable
    for routable in ("login", "/accounts/login/", "admin:login", "https://sso.example.com/login"):
        with override_settings(LOGIN_URL=routable):
            assert ids(host_checks.check_routes(None)) == [], routable


def test_a_database_other_than_postgresql_and_naive_timestamps_are_errors(settings):
    with override_settings(USE_TZ=False):
        assert ids(host_checks.check_database(None)) == ["goals.E022"]
    databases = {"default": {**settings.DATABASES["default"], "ENGINE": "django.db.backends.sqlite3"}}
    # Read by the check only; nothing connects through it.
    with pytest.warns(UserWarning, match="DATABASES"), override_settings(DATABASES=databases):
        assert ids(host_checks.check_database(None)) == ["goals.E021"]


def test_a_host_without_the_required_apps_gets_the_check_not_a_runtime_error():
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
                            env=service_env(DJANGO_SETTINGS_MODULE="tests.settings_missing_apps"), timeout=120)
    assert result.returncode != 0
    assert "RuntimeError" not in result.stderr
    assert "goals.E020" in result.stderr
    assert "'django_celery_results' is not in INSTALLED_APPS" in result.stderr
    assert "'django_celery_beat' is not in INSTALLED_APPS" in result.stderr


def test_a_host_with_no_celery_app_is_told_to_define_one():
    # ``python -m django`` rather than manage.py: nothing of the example project (whose package creates its
    # Celery app on import) is loaded, and the URLconf is a test one too.
    result = subprocess.run([sys.executable, "-m", "django", "check"], cwd=ROOT, capture_output=True, text=True,
                            env=service_env(DJANGO_SETTINGS_MODULE="tests.settings_without_celery_app"), timeout=120)
    assert result.returncode != 0
    assert "goals.E030" in result.stderr
    assert "no Celery app is loaded" in result.stderr
