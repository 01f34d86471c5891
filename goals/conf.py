"""The app's settings (``GOALS_*``), read through one typed accessor with defaults.

``goals.checks.settings`` validates them at start-up, so a typo fails ``manage.py check`` instead of a task.
"""

from __future__ import annotations

from dataclasses import Field, dataclass, field, fields
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


def setting(default: Any, *, above: float | None = None, minimum: float | None = None,
            choices: tuple[str, ...] = ()) -> Any:
    """A setting's default and the values it allows: more than ``above``, at least ``minimum`` (0: positive,
    not negative), or one of ``choices``."""
    return field(default=default, metadata={"above": above, "minimum": minimum, "choices": choices})


@dataclass(frozen=True)
class GoalSettings:
    max_params_bytes: int = setting(64 * 1024, above=0)
    """Largest accepted ``params`` (as JSON); larger submissions are refused."""
    progress_interval: float = setting(1.0, above=0)
    """Seconds between two persisted progress writes of one attempt (the final one is always kept)."""
    default_max_attempts: int = setting(3, above=0)
    """Attempts an executor gets unless it says otherwise."""
    default_retry_backoff: float = setting(2.0, above=0)
    """Base of the exponential back-off, in seconds, between attempts."""
    default_retry_backoff_max: float = setting(600.0, above=0)
    """Cap of the back-off, in seconds."""
    retry_backoff_min: float = setting(1.0, minimum=0)
    """Smallest delay before a retry, in seconds (jitter never sends it sooner)."""
    default_timeout: float = setting(15 * 60, above=0)
    """Hard time limit of one attempt, in seconds, unless the executor says otherwise."""
    default_heartbeat_timeout: float = setting(5 * 60, above=0)
    """A running attempt whose heartbeat is older than this is presumed dead."""
    task_queue: str = setting("celery")
    """Queue the goal tasks are published to unless the executor names one."""
    release_interval: float = setting(5.0, above=0)
    """Seconds between two releases of the scheduled goals whose start time has come (a beat entry, updated on
    ``migrate``; whole seconds). Each release also sets a timer (a short-delay task message) for every tenth of
    a second in which a goal starts before the next one, as does a submit, reschedule or retry that starts a
    goal sooner: a goal starts within a tenth of a second of its time while a worker is free to take the
    timer, and at worst this interval late when a timer is lost."""
    event_max_payload_bytes: int = setting(64 * 1024, above=0)
    """The largest outside event payload accepted, in bytes of JSON (``goals.waits``)."""
    event_retention_days: int = setting(7, minimum=0)
    """Outside events no goal consumed are deleted by the nightly prune once this many days old (0: kept)."""
    schedule_grace: float = setting(60.0, minimum=0)
    """A schedule's period that began less than this many seconds before the releaser saw it is run as usual;
    older ones were missed while nothing ran, and the schedule's catch-up policy decides (``goals.periodic``). At
    least twice ``release_interval`` (system check ``goals.W005``)."""
    retry_later_after: float = setting(30.0, minimum=0)
    """A retry back-off longer than this many seconds waits in PostgreSQL as a scheduled attempt, released when
    due, rather than as a delayed message in a worker's memory (which Redis delivers again once it outlasts
    the visibility timeout). Shorter back-offs use Celery's own retry."""
    reconcile_interval: float = setting(60.0, above=0)
    """Seconds between two scheduled reconciler passes (the beat entry is updated on ``migrate``)."""
    reconcile_batch_size: int = setting(500, above=0)
    """Goals one reconciler transaction claims (``FOR UPDATE SKIP LOCKED``) and repairs."""
    reconcile_callback_grace: float = setting(60.0, minimum=0)
    """A final task result younger than this may still be on its way to the goal: not a lost callback."""
    reconcile_pending_grace: float = setting(60.0, minimum=0)
    """A goal pending for longer than this was never handed to the broker: send it."""
    reconcile_queued_timeout: float = setting(3600.0, above=0)
    """A goal queued (or retrying) this long with no result row is presumed lost in the queue."""
    reconcile_results_lookback: float = setting(24 * 3600.0, above=0)
    """How far back the first pass reads task result rows (later passes start where the last one did)."""
    reconcile_notify: bool = setting(False)
    """Mail the site admins (``mail_admins``) when a pass flags goals for review."""
    prune_after_days: int = setting(0, minimum=0)
    """Scheduled pruning deletes final goals and reports older than this many days; 0 turns it off."""
    journal_detail_days: int = setting(0, minimum=0)
    """Scheduled pruning compacts the journal of goals finished more than this many days ago to its
    summary rows (``goals.pruning.compact_journals``); 0 keeps every row for as long as its goal."""
    api_max_body_bytes: int = setting(128 * 1024, above=0)
    """Largest request body the HTTP API reads; a larger one is refused with 413."""
    api_max_bulk_body_bytes: int = setting(2 * 1024 * 1024, above=0)
    """Largest body of a bulk submit (``POST /api/goals/bulk``, up to 1,000 goals); Django's own
    ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB by default) still bounds it, if lower."""
    api_page_size: int = setting(50, above=0)
    """Goals per page of ``GET /api/goals/`` (a client may ask for fewer with ``?limit=``)."""
    metrics: str = setting("off", choices=("off", "open", "token"))
    """``/metrics``: ``off`` (404), ``open`` (anyone who can reach it) or ``token`` (``GOALS_METRICS_TOKEN``)."""
    metrics_token: str = setting("")
    """Bearer token a scraper must send when ``GOALS_METRICS`` is ``token``."""
    callback_database_wait: float = setting(15.0, minimum=0)
    """Seconds a worker keeps retrying a callback the database cannot take (unreachable, restarting). A start
    still not recorded then sends the message back to the queue; a final state is left to the reconciler."""
    send_in_background: bool = setting(True)
    """Publish committed goals from a sender thread, in groups (``goals.submitting.sender``), instead of on the thread
    that committed them."""
    prepared_statements: bool = setting(True)
    """Prepare the per-goal statements on the server (``goals.db``); off behind PgBouncer's transaction mode
    before 1.21."""


_TYPES: dict[str, type | tuple[type, ...]] = {"int": int, "float": (int, float), "str": str, "bool": bool}


def problem(setting_field: Field, value: Any) -> tuple[str, str] | None:
    """What is wrong with ``value`` for the setting ``setting_field`` of ``GoalSettings``, if anything: the
    kind of problem (``type``, ``range`` or ``choice``) and what to say."""
    expected = _TYPES[str(setting_field.type)]
    if (isinstance(value, bool) and expected is not bool) or not isinstance(value, expected):
        return "type", f"must be {setting_field.type}, not {type(value).__name__}"
    above, minimum, choices = (setting_field.metadata.get(key) for key in ("above", "minimum", "choices"))
    if above is not None and value <= above:
        return "range", f"must be positive, got {value!r}"
    if minimum is not None and value < minimum:
        return "range", f"must not be negative, got {value!r}"
    if choices and value not in choices:
        return "choice", f"must be one of {sorted(choices)}, got {value!r}"
    return None


@lru_cache(maxsize=1)
def goal_settings() -> GoalSettings:
    """The current ``GOALS_*`` settings merged over the defaults (cached: call it where needed).

    The cache is dropped whenever Django reports a ``GOALS_*`` setting changed (``override_settings``,
    pytest-django's ``settings``); code that assigns ``settings.GOALS_...`` directly must call
    ``goal_settings.cache_clear()``.
    """
    values = {}
    for each in fields(GoalSettings):
        name = f"GOALS_{each.name.upper()}"
        if hasattr(settings, name):
            values[each.name] = getattr(settings, name)
    return GoalSettings(**values)


@receiver(setting_changed)
def _forget_goal_settings(*, setting: str, **kwargs: object) -> None:
    if setting.startswith("GOALS_"):
        goal_settings.cache_clear()
