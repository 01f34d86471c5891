"""The project's own files: migrations match the models, docker-compose.yml points at real modules."""

from __future__ import annotations

import importlib
import importlib.util
import io

import pytest
import yaml
from django.core.management import call_command

from tests.conftest import ROOT


@pytest.mark.django_db
def test_no_missing_migrations():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)


def test_compose_services_run_modules_that_exist():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "beat"} <= set(services)
    commands = {name: services[name]["command"] for name in ("migrate", "web", "worker", "beat")}
    assert commands["migrate"][:2] == ["python", "manage.py"]
    assert (ROOT / "manage.py").exists()
    web_module = commands["web"][1].split(":")[0]
    assert hasattr(importlib.import_module(web_module), "application")
    assert hasattr(importlib.import_module("config"), "celery_app")
    for name in ("worker", "beat"):
        assert commands[name][:3] == ["celery", "-A", "config"]
    for name in ("migrate", "web", "worker", "beat"):
        env = services[name]["environment"]
        assert importlib.util.find_spec(env["DJANGO_SETTINGS_MODULE"]) is not None
        assert {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"} <= set(env)
