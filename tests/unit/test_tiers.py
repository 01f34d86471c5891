"""The unit tier runs on a machine with no service at all, and starts none."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.paths import ROOT
from tests.tiers import needs_no_server


def test_only_a_run_confined_to_the_unit_tier_goes_without_servers():
    assert needs_no_server(["tests/unit"])
    assert needs_no_server(["-q", "tests/unit/test_states.py::test_states_are_stored_as_lowercase_words"])
    assert not needs_no_server([])
    assert not needs_no_server(["tests/unit", "tests/db"])
    assert not needs_no_server(["tests"])


def test_the_unit_tier_alone_starts_no_embedded_server(tmp_path):
    local = tmp_path / "local"
    env = {name: value for name, value in os.environ.items() if name not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(GOALS_EMBEDDED_DIR=str(local))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "tests/unit/test_states.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout
    assert not local.exists(), "the embedded servers' folder was created: a server was started"
