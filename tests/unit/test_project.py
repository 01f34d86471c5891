"""The project's own files: docker-compose.yml and the Dockerfile point at real modules and steps."""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys

import yaml

from tests.conftest import ROOT


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


def test_the_image_build_collects_the_admin_static_files(tmp_path):
    """The Dockerfile's collectstatic step, with production settings: gunicorn serves these via WhiteNoise."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "manage.py collectstatic --noinput" in dockerfile
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.production", "SECRET_KEY": "collectstatic",
           "DATABASE_URL": "postgres://unused/unused", "CELERY_BROKER_URL": "redis://unused:6379/0",
           "STATIC_ROOT": str(tmp_path)}
    result = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())
    assert "admin/css/base.css" in manifest["paths"]


def test_every_make_target_says_what_it_does_in_make_help():
    makefile = (ROOT / "Makefile").read_text()
    phony = set(re.search(r"^\.PHONY: (.+?)(?<!\\)$", makefile, re.MULTILINE | re.DOTALL).group(1)
                .replace("\\\n", " ").split())
    described = set(re.findall(r"^([a-z-]+):.*## ", makefile, re.MULTILINE))
    assert phony == described
    assert {"test-unit", "test-db", "test-worker", "test-faults", "test-install", "browser"} <= described
    test_recipe = re.search(r"^test: .*?\n((?:\t.*\n)+)", makefile, re.MULTILINE).group(1)
    assert "ensure-debian-package" not in test_recipe, "make test installs no system package on its own"
