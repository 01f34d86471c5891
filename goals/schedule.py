"""The beat schedule of goaltrack's periodic tasks, kept in django-celery-beat's tables.

``ensure_periodic_tasks`` runs after every ``migrate`` (and from ``make demo``): it creates the
entries, or brings their schedule in line with the settings, without touching whether an operator
disabled one.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from goals.conf import goal_settings
from goals.task_names import PRUNE_TASK, RECONCILE_TASK, RELEASE_TASK

RECONCILE_TASK_NAME = "goals: reconcile"
RELEASE_TASK_NAME = "goals: release"
PRUNE_TASK_NAME = "goals: prune"
BACKEND_CLEANUP_NAME = "celery.backend_cleanup"


def _upsert(name: str, *, task: str, enabled: bool, expire_seconds: int | None = None, **schedule: Any) -> None:
    entry = PeriodicTask.objects.filter(name=name).first()
    if entry is None:
        PeriodicTask.objects.create(name=name, task=task, enabled=enabled, expire_seconds=expire_seconds,
                                    **schedule)
        return
    changed = {key: value for key, value in {"task": task, "expire_seconds": expire_seconds, **schedule}.items()
               if getattr(entry, key) != value}
    if changed:
        for key, value in changed.items():
            setattr(entry, key, value)
        entry.save()


def ensure_periodic_tasks(**kwargs: Any) -> None:
    """Create or update the reconciler, release, pruning and result-cleanup entries (idempotent)."""
    config = goal_settings()
    every = max(1, round(config.reconcile_interval))
    with transaction.atomic():
        interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.SECONDS)
        # A pass that waited longer than its interval is superseded by the next one: let it expire.
        _upsert(RECONCILE_TASK_NAME, task=RECONCILE_TASK, enabled=True, expire_seconds=every, interval=interval)
        # The same for the release of due goals; beat's intervals count whole seconds.
        release_every = max(1, round(config.release_interval))
        release, _ = IntervalSchedule.objects.get_or_create(every=release_every, period=IntervalSchedule.SECONDS)
        _upsert(RELEASE_TASK_NAME, task=RELEASE_TASK, enabled=True, expire_seconds=max(release_every, 5),
                interval=release)
        daily, _ = CrontabSchedule.objects.get_or_create(minute="30", hour="3", day_of_week="*", day_of_month="*",
                                                         month_of_year="*", timezone="UTC")
        # Always enabled: the task itself does nothing while GOALS_PRUNE_AFTER_DAYS is 0.
        _upsert(PRUNE_TASK_NAME, task=PRUNE_TASK, enabled=True, crontab=daily)
        # Beat installs this one itself at start-up; creating it here makes it visible right after migrate.
        cleanup, _ = CrontabSchedule.objects.get_or_create(minute="0", hour="4", day_of_week="*", day_of_month="*",
                                                           month_of_year="*", timezone="UTC")
        _upsert(BACKEND_CLEANUP_NAME, task="celery.backend_cleanup", enabled=True, expire_seconds=12 * 3600,
                crontab=cleanup)
