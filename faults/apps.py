from django.apps import AppConfig


class FaultsConfig(AppConfig):
    """The effects ledger of the fault-injection suite (installed by ``faults.settings`` and the tests)."""

    name = "faults"
    default_auto_field = "django.db.models.BigAutoField"
