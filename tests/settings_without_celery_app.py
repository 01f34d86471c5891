"""A host whose settings are complete but whose package never creates a Celery app (no ``celery.py``)."""

import os

SECRET_KEY = "no-celery-app"
USE_TZ = True
ROOT_URLCONF = "tests.urls_without_goals"
INSTALLED_APPS = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                  "django.contrib.sessions", "django.contrib.messages",
                  "django_celery_results", "django_celery_beat", "goals"]
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "unused",
                         "HOST": os.environ.get("PGHOST", "127.0.0.1")}}
