"""Settings shared by every environment, fed by environment variables.

``DATABASE_URL`` and ``CELERY_BROKER_URL`` point at real services; when either is unset, a real
embedded server is started instead (see ``config.embedded``).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

from config import embedded
from config.settings.env import env_bool, env_int, env_list

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-development-key-do-not-use-in-production")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_results",
    "django_celery_beat",
    "goals",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
# The live pages send people without a session to sign in: the project's own login page, which (unlike
# the admin's) lets in users who are not staff. Without a "next", signing in or out lands on the front page.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],  # the example project's front page
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL") or embedded.postgres_url()
DATABASES = {
    # Health checks make a reused connection safe after a database restart.
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 60),
                                     conn_health_checks=True),
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles"

# /metrics: off, open, or token (a scraper sends "Authorization: Bearer $GOALS_METRICS_TOKEN").
GOALS_METRICS = os.environ.get("GOALS_METRICS", "off")
GOALS_METRICS_TOKEN = os.environ.get("GOALS_METRICS_TOKEN", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    # One handler, on the root: goaltrack's records propagate to it once. (A handler on "goals" as well printed
    # each line twice in the worker, where Celery puts its own handler on the root.)
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"goals": {"level": os.environ.get("GOALS_LOG_LEVEL", "INFO")}},
}

# --- Celery (read by config/celery.py through namespace="CELERY") ---------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or embedded.redis_url()
# Results go to PostgreSQL through django-celery-results: the reconciler cross-checks goals against them.
CELERY_RESULT_BACKEND = "django-db"
# JSON only: a worker must never unpickle what someone managed to put on the broker.
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Ack after the task ran, so a worker that dies mid-task leaves its message to be delivered again.
CELERY_TASK_ACKS_LATE = True
# ...and a pool child killed mid-task requeues its message instead of acknowledging it.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# With late acks a prefetched message waits behind a busy child; take only what can run now.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# STARTED rows for plain tasks (goal tasks record "running" on the goal row instead: see goals/tasks.py).
CELERY_TASK_TRACK_STARTED = True
# Task name, args and worker in each result row, so a row can be matched to its goal and attempt.
CELERY_RESULT_EXTENDED = True
CELERY_RESULT_EXPIRES = timedelta(days=env_int("CELERY_RESULT_EXPIRES_DAYS", 7))
# Redis redelivers an unacked message after the visibility timeout; every time limit stays below it
# (and below RabbitMQ's 30-minute consumer timeout) so a message is never redelivered while it runs.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 1,
    "socket_timeout": 5,
}
CELERY_TASK_TIME_LIMIT = 20 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 19 * 60
# On a lost broker connection the messages of running tasks are redelivered elsewhere: stop them here.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# SIGQUIT (what `manage.py demo` sends on Ctrl-C) stops a worker with Celery's soft shutdown: its running
# tasks get this many seconds, then they are cancelled and their unacknowledged messages go back to the
# queue, so the next worker runs those goals again (the next attempt). SIGTERM still waits for every task.
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env_int("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", 3)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish to a dead broker gives up after about a second (the connect timeout bounds the connection's
# retries, the publish retry policy the publish's); the goal stays "pending" and is re-sent.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
# Workers and beat, though, wait for the broker however long it is away (None: retry forever). A finite
# number here is how often a worker retries before it exits: a broker restart would stop every worker.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2,
                                    "interval_max": 0.2}
# Celery closes Django's connection around every task unless told to reuse it (two extra transactions
# per task); reuse it, closing after this many tasks. CONN_HEALTH_CHECKS covers a restarted database.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
