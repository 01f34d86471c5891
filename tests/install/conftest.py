"""The install tier: what a user installs is the built wheel, so these tests build it and use nothing else."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.paths import ROOT


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built as ``pip wheel`` would for a user, from a copy of the files it is made of
    (a build in the checkout would leave a ``build/`` folder whose stale files a later wheel could take)."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "goals", source / "goals", ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
                   check=True, timeout=300)
    [built] = out.glob("goaltrack-*.whl")
    return built


@pytest.fixture(scope="session")
def wheel_names(wheel) -> list[str]:
    return zipfile.ZipFile(wheel).namelist()
