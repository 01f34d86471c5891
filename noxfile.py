"""The Django x Python matrix: the suite on every supported pair, each in a fresh virtual environment.

nox rather than tox: the sessions are Python, so the one irregular pair (Django 6.1, which the latest
django-celery-beat release still excludes) is an ``if`` in plain code, not an ini-file factor, and the
interpreters are the machine's pyenv builds, found below. ``make matrix`` runs the pairs ``make test`` does
not (``nox -t others``); ``nox -l`` lists the sessions, ``nox -s "tests(py3.13-django6.1)"`` runs one.

Every pair runs the tiers that need no long fault scenario (``MATRIX_TIERS``); the fault scenarios and the
install test run once, on the default pair, in ``make test``.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_venv = "no"
nox.options.error_on_missing_interpreters = True

# Django 6.x needs Python 3.12 or newer.
PAIRS = [("3.11", "5.2"), ("3.12", "5.2"), ("3.12", "6.0"), ("3.12", "6.1"), ("3.13", "5.2"), ("3.13", "6.0"),
         ("3.13", "6.1")]
# `make test` runs the whole suite on this pair, in .venv; `make matrix` (nox -t others) runs the rest.
DEFAULT_PAIR = ("3.11", "5.2")
# django-celery-beat 2.9.0 declares Django<6.1 (celery/django-celery-beat#1079, fixed on its main branch,
# unreleased). For 6.1 the suite installs Django over it, as the README tells users to, with the
# django-timezone-field release that supports 6.1.
DJANGO_OVER_BEAT_PIN = {"6.1": ["django-timezone-field>=7.2.2"]}
# The tiers every pair runs; the fault scenarios and the install tier (the wheel in a generated host, the demo
# on embedded servers) run once, in `make test`.
MATRIX_TIERS = ["tests/unit", "tests/db", "tests/worker"]


def _put_pyenv_pythons_on_path() -> None:
    """pyenv's shims answer only for the selected version: put each installed build's bin first instead."""
    pyenv = shutil.which("pyenv")
    if pyenv is None:
        return
    root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=True).stdout.strip()
    found = []
    for version in sorted({python for python, _ in PAIRS}):
        builds = sorted(glob.glob(os.path.join(root, "versions", f"{version}.*", "bin")))
        found += builds[-1:]
    os.environ["PATH"] = os.pathsep.join([*found, os.environ.get("PATH", "")])


_put_pyenv_pythons_on_path()


@nox.session
@nox.parametrize(("python", "django"), [
    nox.param(python, django, id=f"py{python}-django{django}",
              tags=[] if (python, django) == DEFAULT_PAIR else ["others"])
    for python, django in PAIRS
])
def tests(session: nox.Session, django: str) -> None:
    """The suite on one Django x Python pair."""
    missing = [name for name in ("DATABASE_URL", "CELERY_BROKER_URL") if not os.environ.get(name)]
    if missing:
        # The embedded servers are the default Python's fallback (pgserver has no build for 3.13).
        session.error(f"set {' and '.join(missing)}: the matrix runs on real services")
    # Dependency groups (PEP 735) need pip 25.1 or newer; the interpreters bundle older ones.
    session.install("--upgrade", "pip>=25.1")
    if django in DJANGO_OVER_BEAT_PIN:
        session.install("-e", ".", "--group", "test")
        session.install(f"Django~={django}.0", *DJANGO_OVER_BEAT_PIN[django])
    else:
        session.install("-e", ".", "--group", "test", f"Django~={django}.0")
    installed = session.run("python", "-c", "import django, sys; print(django.get_version(), sys.version.split()[0])",
                            silent=True)
    session.log(f"running on Django, Python: {installed.strip()}")
    session.run("python", "-m", "pytest", *MATRIX_TIERS, *session.posargs)
