"""System checks: the ``GOALS_*`` settings, the host project around the app, and the lifecycle's statements
against the database. Importing the package registers them all (``GoalsConfig.ready``)."""

from goals.checks import host, settings, statements  # noqa: F401  (each registers its checks)
