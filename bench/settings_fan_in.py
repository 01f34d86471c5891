"""goaltrack for the fan-in benchmark: its goals (the children a worker spawns too) on the run's own queue."""

import os

from config.settings.base import *  # noqa: F403

GOALS_TASK_QUEUE = os.environ["GOALS_TASK_QUEUE"]
