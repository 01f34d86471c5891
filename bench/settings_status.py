"""gunicorn's settings in ``status_reads.py``: the project's, plus the tutorial status view's URL."""

from config.settings.base import *  # noqa: F403

ROOT_URLCONF = "status_views"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
