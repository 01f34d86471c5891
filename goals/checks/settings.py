"""System checks of the ``GOALS_*`` settings: a malformed one fails ``manage.py check``, not a task.

Each setting is judged against its entry in the schema (``goals.conf``: type, range, choices); what
relates two settings is checked here. The settings around the app (installed apps, routes, the Celery
app) are checked in ``goals.checks.host``.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from goals.conf import GoalSettings, problem

_IDS = {"type": "goals.E001", "range": "goals.E002", "choice": "goals.E003"}


@register()
def check_goal_settings(app_configs: Any, **kwargs: Any) -> list[Error]:
    errors = []
    for field in fields(GoalSettings):
        name = f"GOALS_{field.name.upper()}"
        if hasattr(settings, name) and (found := problem(field, getattr(settings, name))):
            kind, message = found
            errors.append(Error(f"{name} {message}", id=_IDS[kind]))
    if not errors and getattr(settings, "GOALS_METRICS", "off") == "token" and not getattr(
            settings, "GOALS_METRICS_TOKEN", ""):
        errors.append(Error("GOALS_METRICS is 'token' but GOALS_METRICS_TOKEN is empty: nobody could scrape "
                            "/metrics", id="goals.E003"))
    return errors
