from django.apps import AppConfig


class TestsConfig(AppConfig):
    """Installed by config.settings.test so the worker started by the suite knows the test executors."""

    name = "tests"
    label = "goal_tests"
