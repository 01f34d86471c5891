from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class GoalsConfig(AppConfig):
    name = "goals"
    verbose_name = "Goals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from goals import checks  # noqa: F401  (registers the system checks)
        from goals.schedule import ensure_periodic_tasks

        post_migrate.connect(ensure_periodic_tasks, sender=self, dispatch_uid="goals.ensure_periodic_tasks")

        # Every installed app's ``executors`` module registers its kinds, in web and worker alike.
        autodiscover_modules("executors")
