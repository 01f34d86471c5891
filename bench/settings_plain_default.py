"""The plain recipe as the tutorials leave it: django-db results, STARTED recorded, extended results.

Celery's own defaults otherwise (early acks, prefetch 4), Django's default CONN_MAX_AGE (0), and no
``CELERY_DB_REUSE_MAX``: Celery closes the Django connection around every task.
"""

from config.settings.base import *  # noqa: F403

DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_TASK_TRACK_STARTED = True
CELERY_RESULT_EXTENDED = True
del CELERY_DB_REUSE_MAX  # noqa: F821
