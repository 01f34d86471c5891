"""The install tier: what a user installs is the built wheel, so these tests build it and use nothing else."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.paths import ROOT


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built from the checkout as ``pip wheel`` would for a user."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
                   check=True, timeout=300)
    [built] = out.glob("goaltrack-*.whl")
    return built


@pytest.fixture(scope="session")
def wheel_names(wheel) -> list[str]:
    return zipfile.ZipFile(wheel).namelist()
