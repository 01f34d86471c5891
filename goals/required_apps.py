"""The apps goaltrack keeps its data in, and which of them the project did not install.

Asked by the app config, the admin and the URLs before they import those apps' models (which would stop
start-up with a RuntimeError), and by the system check that names what to add (``goals.E020``).
"""

from django.apps import apps

REQUIRED_APPS = {
    "django_celery_results": "the task result rows a goal's final transition writes and the reconciler reads",
    "django_celery_beat": "the beat schedule of the reconciler and of pruning",
}


def missing_required_apps() -> list[str]:
    """The required apps the project did not install."""
    return [name for name in REQUIRED_APPS if not apps.is_installed(name)]
