"""System checks of the ``GOALS_*`` settings: a malformed one fails ``manage.py check``, not a task.

Each setting is judged against its entry in the schema (``goals.conf``: type, range, choices); what
relates two settings is checked here. The settings around the app (installed apps, routes, the Celery
app) are checked in ``goals.checks.host``.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from goals.conf import GoalSettings, goal_settings, problem

_IDS = {"type": "goals.E001", "range": "goals.E002", "choice": "goals.E003"}


@register()
def check_goal_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for field in fields(GoalSettings):
        name = f"GOALS_{field.name.upper()}"
        if hasattr(settings, name) and (found := problem(field, getattr(settings, name))):
            kind, message = found
            errors.append(Error(f"{name} {message}", id=_IDS[kind]))
    if not errors and getattr(settings, "GOALS_METRICS", "off") == "token" and not getattr(
            settings, "GOALS_METRICS_TOKEN", ""):
        errors.append(Error("GOALS_METRICS is 'token' but GOALS_METRICS_TOKEN is empty: nobody could scrape "
                            "/metrics", id="goals.E003"))
    if not errors:
        errors += _schedule_problems()
    return errors + _task_backend_problems()


def _task_backend_problems() -> list[CheckMessage]:
    from goals.tasking.kinds import configured, problems

    return [Error(message, id="goals.E040") for alias, params in configured().items()
            for message in problems(alias, params)]


def _schedule_problems() -> list[CheckMessage]:
    config = goal_settings()
    if config.schedule_grace >= 2 * config.release_interval:
        return []
    # The first release after a schedule is defined or resumed may come a whole interval after its next
    # period began, and a busy worker takes it later still: such a period must not count as missed.
    return [Warning(f"GOALS_SCHEDULE_GRACE ({config.schedule_grace:g} s) is less than twice GOALS_RELEASE_INTERVAL "
                    f"({config.release_interval:g} s): a period that begins just before a late release would "
                    "count as missed, and get its goal only as its schedule's catch-up policy says",
                    hint="Set GOALS_SCHEDULE_GRACE to at least twice GOALS_RELEASE_INTERVAL.", id="goals.W005")]
