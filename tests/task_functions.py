"""Django ``@task`` functions the suite enqueues through goaltrack's backend (``goals.tasking``); the worker
started by the suite imports them by module path when it runs one.

Django's task signals fire in the worker: a receiver here appends what each said to the file that
``GOALS_TEST_TASK_SIGNALS`` names (set by the test settings, inherited by the worker), for the tests to read.
"""

import json
import os

from goals.tasking.compat import task, task_enqueued, task_finished, task_started


class Planned(Exception):
    """A failure a task raises on purpose."""


@task
def add(a, b):
    return a + b


@task(takes_context=True)
def fails_twice(context, marker):
    """Fails on its first two attempts, succeeds on its third, returning what its context said."""
    if context.attempt < 3:
        raise Planned(f"{marker}: planned failure on attempt {context.attempt}")
    return {"attempt": context.attempt, "id": context.task_result.id, "status": context.task_result.status,
            "workers": len(context.task_result.worker_ids)}


@task
def always_fails():
    raise Planned("always")


@task
async def add_later(a, b):
    return a + b


@task
def returns_tuple():
    return (1, 2)


@task(queue_name="reports")
def build_report(month):
    return {"month": month}


def _note_signal(signal_name):
    def receiver(sender, task_result, **kwargs):
        path = os.environ.get("GOALS_TEST_TASK_SIGNALS")
        if path:
            with open(path, "a") as log:
                log.write(json.dumps({"signal": signal_name, "id": task_result.id, "status": task_result.status,
                                      "pid": os.getpid()}) + "\n")
    return receiver


for _name, _signal in (("enqueued", task_enqueued), ("started", task_started), ("finished", task_finished)):
    _signal.connect(_note_signal(_name), weak=False, dispatch_uid=f"tests.task_functions.{_name}")
