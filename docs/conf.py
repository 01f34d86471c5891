"""Sphinx configuration of goaltrack's documentation (``make docs`` builds it into ``docs/_build/html``).

The reference pages are generated from the code they describe (``_ext/reference.py``): settings from
``goals.conf``, states and transitions from ``goals.lifecycle.states``, the statements from their ``.sql``
files, metrics, reconciler findings, management commands and the HTTP routes from their own definitions.
Importing those needs Django configured, not a database: nothing here connects to one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import django
from django.conf import settings

DOCS = Path(__file__).resolve().parent
sys.path[:0] = [str(DOCS.parent), str(DOCS / "_ext")]

settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django.contrib.admin",
                    "django.contrib.sessions", "django.contrib.messages", "django_celery_results",
                    "django_celery_beat", "goals"],
    DATABASES={"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "docs"}},
    USE_TZ=True,
)
django.setup()

project = "goaltrack"
author = "the goaltrack developers"
copyright = "2026, the goaltrack developers"
release = "0.1.0"

extensions = ["myst_parser", "sphinx.ext.autodoc", "reference"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
# A class is documented by what a host calls on it, not by the fields of its constructor.
autodoc_class_signature = "separated"
autodoc_default_options = {"members": True, "exclude-members": "__init__, __new__"}


html_theme = "furo"
html_title = "goaltrack"
