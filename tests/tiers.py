"""The suite's tiers, each runnable on its own (``pytest tests/<tier>``):

- ``tests/unit``: pure logic and the project's files; starts no server and connects to none.
- ``tests/db``: real PostgreSQL (pytest-django's test database), no worker.
- ``tests/worker``: a real Celery worker process, started once by the session (``tests.conftest``).
- ``tests/faults``: the fault-injection scenarios at their short sizes.
- ``tests/install``: the built wheel in a generated host project, and the demo on embedded servers.

Loaded as a plugin (``-p tests.tiers`` in pyproject's ``addopts``), so it runs before pytest-django imports
the settings: for a run of the unit tier alone it sets placeholder service URLs where none are set, so the
settings do not start the embedded servers (which they do when a URL is unset). Anything in that tier that
tried to connect would fail on the placeholder instead of quietly starting a server.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.paths import ROOT

SERVERLESS = (ROOT / "tests" / "unit",)
NO_DATABASE = "postgresql://unit-tier-connects-to-nothing@127.0.0.1:9/none"
NO_BROKER = "memory://"


def _paths(args: list[str]) -> list[Path]:
    paths = []
    for arg in args:
        if arg.startswith("-"):
            continue
        candidate = Path(arg.split("::")[0])
        if candidate.exists():
            paths.append(candidate.resolve())
    return paths


def needs_no_server(args: list[str]) -> bool:
    """Whether every test path asked for lies in a tier that needs no server (no path: the whole suite)."""
    paths = _paths(args)
    return bool(paths) and all(any(path.is_relative_to(tier) for tier in SERVERLESS) for path in paths)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    if needs_no_server(args):
        os.environ.setdefault("DATABASE_URL", NO_DATABASE)
        os.environ.setdefault("CELERY_BROKER_URL", NO_BROKER)
