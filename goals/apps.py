from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules

from goals.required_apps import missing_required_apps


class GoalsConfig(AppConfig):
    name = "goals"
    verbose_name = "Goals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        import goals.checks  # noqa: F401  (registers the system checks)

        if missing_required_apps():
            # What follows imports those apps' models, which would fail start-up with a RuntimeError
            # before the system check could say what to add.
            return

        from django.db.models.signals import post_migrate

        from goals.schedule import ensure_periodic_tasks

        post_migrate.connect(ensure_periodic_tasks, sender=self, dispatch_uid="goals.ensure_periodic_tasks")

        # Every installed app's ``executors`` module registers its kinds, in web and worker alike.
        autodiscover_modules("executors")
        # And the kinds Django's tasks run as, if ``TASKS`` uses goaltrack's backend (``goals.tasking``).
        from goals.tasking.kinds import register_configured

        register_configured()
