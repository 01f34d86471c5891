from django.apps import AppConfig, apps
from django.utils.module_loading import autodiscover_modules

# The apps whose tables goaltrack keeps its data in, and what it keeps there.
REQUIRED_APPS = {
    "django_celery_results": "the task result rows a goal's final transition writes and the reconciler reads",
    "django_celery_beat": "the beat schedule of the reconciler and of pruning",
}


def missing_required_apps() -> list[str]:
    """The required apps the project did not install (``goals.E020`` names each, with the fix)."""
    return [name for name in REQUIRED_APPS if not apps.is_installed(name)]


class GoalsConfig(AppConfig):
    name = "goals"
    verbose_name = "Goals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from goals import checks, host_checks  # noqa: F401  (registers the system checks)

        if missing_required_apps():
            # What follows imports those apps' models, which would fail start-up with a RuntimeError
            # before the system check could say what to add.
            return

        from django.db.models.signals import post_migrate

        from goals.schedule import ensure_periodic_tasks

        post_migrate.connect(ensure_periodic_tasks, sender=self, dispatch_uid="goals.ensure_periodic_tasks")

        # Every installed app's ``executors`` module registers its kinds, in web and worker alike.
        autodiscover_modules("executors")
