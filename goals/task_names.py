"""The names of goaltrack's Celery tasks: the one place that spells them.

Publishers send by name (``app.send_task``), so a web process that submits goals never imports
``goals.tasks`` (and with it the reconciler, pruning and the worker's signal handlers). The beat
entries, the reconciler's result-row filter and the tasks themselves read the same constants.
"""

EXECUTE_TASK = "goals.execute"
"""Runs one attempt of a goal (``goals.tasks.execute_goal``)."""
RECONCILE_TASK = "goals.reconcile"
"""One scheduled reconciler pass (``goals.tasks.reconcile_goals``)."""
PRUNE_TASK = "goals.prune"
"""Scheduled retention (``goals.tasks.prune_goals``)."""
RELEASE_TASK = "goals.release"
"""Releases the scheduled goals whose start time has come (``goals.tasks.release_goals``)."""
