from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class GoalsConfig(AppConfig):
    name = "goals"
    verbose_name = "Goals"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from goals import checks  # noqa: F401  (registers the system checks)

        # Every installed app's ``executors`` module registers its kinds, in web and worker alike.
        autodiscover_modules("executors")
