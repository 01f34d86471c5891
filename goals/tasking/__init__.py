"""Django's task framework (``django.tasks``) on goaltrack: ``TASKS = {"default": {"BACKEND":
"goals.tasking.GoalTaskBackend", ...}}`` makes every ``@task`` enqueue a goal (see ``goals.tasking.backend``).

The backend is imported on first use, so a project that does not configure it imports nothing of Django's
task framework.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "GoalTaskBackend":
        from goals.tasking.backend import GoalTaskBackend

        return GoalTaskBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
