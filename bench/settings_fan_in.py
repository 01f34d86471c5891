"""goaltrack for the fan-in benchmark: its goals (the children a worker spawns too) on the run's own queue."""

import os

from config.settings.base import *  # noqa: F403

GOALS_TASK_QUEUE = os.environ["GOALS_TASK_QUEUE"]
# The release of goals that start later (beat's entry and its timers), on that queue too (bench/deferred.py).
CELERY_TASK_ROUTES = {"goals.release": {"queue": GOALS_TASK_QUEUE}}
# Django's tasks as goals (bench/task_backend.py): the default queue is GOALS_TASK_QUEUE.
TASKS = {"default": {"BACKEND": "goals.tasking.GoalTaskBackend", "OPTIONS": {"max_attempts": 1}}}
