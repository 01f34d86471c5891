"""A host that forgot django-celery-results and django-celery-beat (the example project without them)."""

from config.settings.base import *  # noqa: F403

INSTALLED_APPS = [app for app in INSTALLED_APPS if app not in {"django_celery_results", "django_celery_beat"}]  # noqa: F405
