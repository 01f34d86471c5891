"""The wheel ships the ``goals`` app alone, with everything it needs at run time."""

from __future__ import annotations

import re
import zipfile
from email.parser import Parser

from tests.paths import ROOT

GOALS = ROOT / "goals"


def test_the_wheel_holds_the_goals_package_and_nothing_else(wheel_names):
    top_level = {name.split("/")[0] for name in wheel_names}
    assert top_level == {"goals", "goaltrack-0.1.0.dist-info"}, "config, demo, faults, bench, tests stay out"


def test_every_template_migration_and_marker_is_packaged(wheel_names):
    shipped = set(wheel_names)
    templates = [path.relative_to(ROOT).as_posix() for path in (GOALS / "templates").rglob("*.html")]
    migrations = [path.relative_to(ROOT).as_posix() for path in (GOALS / "migrations").glob("*.py")]
    assert len(templates) >= 9
    assert len(migrations) >= 8
    assert sorted(set(templates) - shipped) == []
    assert sorted(set(migrations) - shipped) == []
    assert "goals/py.typed" in shipped
    assert "goals/urls.py" in shipped


def test_runtime_dependencies_are_what_the_app_imports(wheel):
    with zipfile.ZipFile(wheel) as archive:
        metadata = Parser().parsestr(archive.read("goaltrack-0.1.0.dist-info/METADATA").decode())
    requirements = metadata.get_all("Requires-Dist")
    name = re.compile(r"[A-Za-z0-9._-]+")
    required = {name.match(requirement).group().lower()
                for requirement in requirements if "extra ==" not in requirement}
    assert required == {"django", "celery", "django-celery-results", "django-celery-beat", "psycopg",
                        "prometheus-client"}
    # Deployment choices are the host's (no WSGI server, static files middleware, URL parser or broker client):
    # the extras are the optional features' own packages only.
    extras = {(re.search(r"extra == .(\w+)", requirement).group(1), name.match(requirement).group().lower())
              for requirement in requirements if "extra ==" in requirement}
    assert extras == {("tasks", "django-tasks"), ("otel", "opentelemetry-api")}
    classifiers = set(metadata.get_all("Classifier"))
    assert {"Framework :: Django :: 5.2", "Framework :: Django :: 6.0", "Framework :: Django :: 6.1"} <= classifiers
    assert metadata["Requires-Python"] in (">=3.11,<3.14", "<3.14,>=3.11")
