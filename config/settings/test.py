"""The test suite: the test executors and the fault-injection ledger installed, cheap password hashing."""

import os

from config.settings.base import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests", "faults"]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Progress writes are throttled; a short interval lets the tests see several of them quickly.
GOALS_PROGRESS_INTERVAL = 0.2

# A queue of the test session's own, so a demo or another session on the same broker never takes its
# tasks. The worker started by the suite inherits the variable and consumes the same queue.
GOALS_TASK_QUEUE = os.environ.setdefault("GOALS_TASK_QUEUE", f"goals-test-{os.getpid()}")
# goaltrack's release (beat's entry and its timers) goes where Celery routes it: here, to that same queue.
CELERY_TASK_ROUTES = {"goals.release": {"queue": GOALS_TASK_QUEUE}}
# Django's task framework on goaltrack (goals.tasking): tasks of the default queue go to GOALS_TASK_QUEUE, which
# the suite's worker consumes; "reports" is a queue of its own, which it does not.
TASKS = {"default": {"BACKEND": "goals.tasking.GoalTaskBackend", "QUEUES": ["default", "reports"],
                     "OPTIONS": {"max_attempts": 3, "retry_backoff": 0.1, "retry_jitter": False}}}
# Where tests/task_functions.py notes the task signals it receives, in the suite and in its worker.
os.environ.setdefault("GOALS_TEST_TASK_SIGNALS", f"/tmp/goals-test-task-signals-{os.getpid()}.jsonl")
# OpenTelemetry's SDK records the spans of goaltrack's tracing (goals.tracing) in the suite and its worker, each
# process to its own file in this folder (tests/tracing.py).
os.environ.setdefault("GOALS_TEST_SPANS", f"/tmp/goals-test-spans-{os.getpid()}")
from tests.tracing import record_spans  # noqa: E402

record_spans(os.environ["GOALS_TEST_SPANS"])
