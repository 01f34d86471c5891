from django.apps import AppConfig


class FaultsConfig(AppConfig):
    """The effects ledger of the fault-injection suite (installed by ``faults.settings`` and the tests)."""

    name = "faults"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every process of a scenario (worker, web, reconciler, client) knows the suite's executors.
        from faults import executors  # noqa: F401
