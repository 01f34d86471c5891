"""The plain recipe tuned: the same, with the Django connection reused across tasks."""

from settings_plain_default import *  # noqa: F403

DATABASES["default"]["CONN_MAX_AGE"] = 600  # noqa: F405
CELERY_DB_REUSE_MAX = 1000
