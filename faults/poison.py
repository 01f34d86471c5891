"""Poison input: messages no worker may run, published straight to the broker, and goals whose executor
crashes every time or hangs past its hard time limit."""

from __future__ import annotations

import json
import pickle
import uuid
from pathlib import Path

from kombu import Connection, Exchange, Producer, Queue

from faults.checks import verify
from faults.common import Outcome, new_run, running, submit, wait_all_final, wait_until
from faults.processes import Stage, Worker
from goals.models import Goal


class _Canary:
    """Unpickling this creates ``path``: a worker that unpickles what it was sent would leave it behind."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (Path.touch, (Path(self.path),))


def _headers(task_id: str) -> dict:
    """The headers of a Celery (protocol 2) goal task message, as a forger would write them."""
    return {"lang": "py", "task": "goals.execute", "id": task_id, "root_id": task_id, "parent_id": None,
            "group": None, "retries": 0, "eta": None, "expires": None, "argsrepr": "", "kwargsrepr": "",
            "origin": "faults"}


def publish_poison(stage: Stage, *, pickled: int, garbage: int, canary: Path) -> list[str]:
    """Publish ``pickled`` pickle messages (each would create ``canary`` if unpickled) and ``garbage``
    undecodable ones to the stage's queue; returns the task ids their headers claim."""
    queue = Queue(stage.queue, Exchange(stage.queue, type="direct"), routing_key=stage.queue)
    ids = []
    with Connection(stage.broker_url) as conn:
        producer = Producer(conn.default_channel)
        for i in range(pickled + garbage):
            task_id = f"poison-{uuid.uuid4()}"
            if i < pickled:
                body = pickle.dumps(((str(uuid.uuid4()), 1), {"canary": _Canary(str(canary))}, {}))
                content_type, encoding = "application/x-python-serialize", "binary"
            else:
                body = b"\xff\xfe{not json at all" + str(i).encode()
                content_type, encoding = "application/json", "utf-8"
            producer.publish(body, exchange=queue.exchange, routing_key=stage.queue, declare=[queue],
                             serializer=None, content_type=content_type, content_encoding=encoding,
                             headers=_headers(task_id))
            ids.append(task_id)
    return ids


# What the worker logs for a message it refuses (Celery's own words): one line per message.
REFUSALS = ("Received invalid task message", "Can't decode message body")


def refusals_logged(worker: Worker) -> int:
    lines = worker.log_path.read_text(errors="replace").splitlines()
    return sum(1 for line in lines if any(refusal in line for refusal in REFUSALS))


def poison_input(stage: Stage, *, messages: int, crashing: int, hanging: int, timeout: float = 300) -> Outcome:
    """Pickle and garbage messages: none executed, each logged. Goals that crash every time: failed after
    their attempts, with the reason. Goals that hang past the hard time limit: failed, never left running."""
    run = new_run("poison")
    canary = stage.folder / f"canary-{run}"
    worker = Worker(stage, f"poison-{run}")
    with running(worker):
        ids = publish_poison(stage, pickled=messages // 2, garbage=messages - messages // 2, canary=canary)
        submit(stage, run, crashing, "--kind", "faults.crash", name="client-crash")
        submit(stage, run, hanging, "--kind", "faults.hang", name="client-hang")
        wait_all_final(run, crashing + hanging, timeout=timeout)
        wait_until(lambda: refusals_logged(worker) >= len(ids), timeout=30)
        logged_count = refusals_logged(worker)
    verdict = verify(run)
    goals = Goal.objects.filter(params__run=run)
    crashed = goals.filter(kind="faults.crash", state="failed", attempt=3,
                           error__type__endswith="PlannedCrash").count()
    hung = goals.filter(kind="faults.hang", state="failed").count()
    problems = []
    if canary.exists():
        problems.append("a pickle message was unpickled (the canary file exists)")
    if logged_count != len(ids):
        problems.append(f"{logged_count} of {len(ids)} poison messages logged by the worker")
    if crashed != crashing:
        problems.append(f"{crashed} of {crashing} crashing goals failed after 3 attempts with their reason")
    if hung != hanging:
        states = json.dumps(list(goals.filter(kind="faults.hang").values_list("state", "attempt")))
        problems.append(f"{hung} of {hanging} hanging goals failed: {states}")
    return Outcome("poison input", verdict, expected_goals=crashing + hanging, extra_problems=problems, figures={
        "poison messages": len(ids), "executed": int(canary.exists()), "logged": logged_count,
        "crashing goals failed after 3 attempts": crashed, "hanging goals failed": hung,
        "hanging goals' errors": sorted(set(goals.filter(kind="faults.hang").values_list("error__type", flat=True)))})
