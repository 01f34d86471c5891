"""System checks of the ``GOALS_*`` settings: a malformed one fails ``manage.py check``, not a task.

The settings around the app (installed apps, routes, the Celery app) are checked in ``goals.checks.host``.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from django.conf import settings
from django.core.checks import Error, register

from goals.conf import GoalSettings

_POSITIVE = {"max_params_bytes", "progress_interval", "default_max_attempts", "default_retry_backoff",
             "default_retry_backoff_max", "default_timeout", "default_heartbeat_timeout", "reconcile_interval",
             "reconcile_batch_size", "reconcile_queued_timeout", "reconcile_results_lookback", "api_max_body_bytes",
             "api_max_bulk_body_bytes", "api_page_size"}
_METRICS_MODES = {"off", "open", "token"}
_NON_NEGATIVE = {"retry_backoff_min", "reconcile_callback_grace", "reconcile_pending_grace", "prune_after_days",
                 "journal_detail_days", "callback_database_wait"}


@register()
def check_goal_settings(app_configs: Any, **kwargs: Any) -> list[Error]:
    errors = []
    for field in fields(GoalSettings):
        name = f"GOALS_{field.name.upper()}"
        if not hasattr(settings, name):
            continue
        value = getattr(settings, name)
        expected = {"int": int, "float": (int, float), "str": str, "bool": bool}[str(field.type)]
        if (isinstance(value, bool) and expected is not bool) or not isinstance(value, expected):
            errors.append(Error(f"{name} must be {field.type}, not {type(value).__name__}", id="goals.E001"))
        elif field.name in _POSITIVE and value <= 0:
            errors.append(Error(f"{name} must be positive, got {value!r}", id="goals.E002"))
        elif field.name in _NON_NEGATIVE and value < 0:
            errors.append(Error(f"{name} must not be negative, got {value!r}", id="goals.E002"))
    errors.extend(_check_metrics_settings())
    return errors


def _check_metrics_settings() -> list[Error]:
    mode = getattr(settings, "GOALS_METRICS", "off")
    if mode not in _METRICS_MODES:
        return [Error(f"GOALS_METRICS must be one of {sorted(_METRICS_MODES)}, got {mode!r}", id="goals.E003")]
    if mode == "token" and not getattr(settings, "GOALS_METRICS_TOKEN", ""):
        return [Error("GOALS_METRICS is 'token' but GOALS_METRICS_TOKEN is empty: nobody could scrape /metrics",
                      id="goals.E003")]
    return []
