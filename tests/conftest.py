"""Fixtures: a real Celery worker process on the test database, and helpers to wait for goals."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from celery import current_app
from celery.result import AsyncResult
from django.conf import settings
from django.db import connection

from goals.conf import goal_settings
from goals.lifecycle.states import FINAL_STATES
from goals.models import Goal
from goals.submitting import sender
from tests.paths import ROOT

__all__ = ["ROOT"]


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL for the database Django is connected to (the test database once it exists)."""
    user = quote(settings_dict.get("USER") or "")
    password = quote(settings_dict.get("PASSWORD") or "")
    # dj-database-url puts a socket directory (the embedded server's) in OPTIONS["host"].
    host = settings_dict.get("HOST") or settings_dict.get("OPTIONS", {}).get("host") or ""
    port = settings_dict.get("PORT") or ""
    name = settings_dict["NAME"]
    if host.startswith("/"):
        return f"postgresql://{user}:{password}@/{name}?host={quote(host)}"
    return f"postgresql://{user}:{password}@{host}:{port}/{name}"


def service_env(**extra: str) -> dict[str, str]:
    """Environment for child processes: the same broker and (test) database as this session."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url(connection.settings_dict),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class WorkerProcess:
    """A `celery worker` subprocess (prefork, 2 children) consuming the session's goal queue."""

    def __init__(self, log_path: Path, sql_log_path: Path) -> None:
        self.log_path = log_path
        self.sql_log_path = sql_log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        queue = goal_settings().task_queue
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork", "--concurrency=2",
             f"--queues={queue}", f"--hostname=test-{os.getpid()}@%h", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--include=tests.sqllog"],
            cwd=ROOT, env=service_env(GOALS_TEST_SQL_LOG=str(self.sql_log_path)), stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited with {self.proc.returncode}: {self.tail()}")
            if b" ready." in self.log_path.read_bytes():
                return
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready after 60 s: {self.tail()}")

    def children(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def statements(self, goal_id) -> list[dict]:
        """The SQL statements the pool children ran for ``goal_id`` (see ``tests.sqllog``)."""
        if not self.sql_log_path.exists():
            return []
        records = (json.loads(line) for line in self.sql_log_path.read_text().splitlines())
        return [record for record in records if record["goal"] == str(goal_id)]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session", autouse=True)
def recorded_files():
    """What the suite and its workers record for the tests to read (the test settings name them): removed at
    the end of the session, after the worker stopped."""
    yield
    shutil.rmtree(os.environ["GOALS_TEST_SPANS"], ignore_errors=True)
    Path(os.environ["GOALS_TEST_TASK_SIGNALS"]).unlink(missing_ok=True)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's test database, and the sender thread (goals.submitting.sender) closing its connection before the
    database is dropped. Only tests that use the database create it: the unit tier connects to nothing."""
    yield
    sender.stop()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory):
    """The real worker of the session, started once the test database exists."""
    from config.celery import app

    with django_db_blocker.unblock():
        # Leftovers of an earlier interrupted run would otherwise run against this database.
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(goal_settings().task_queue)
        folder = tmp_path_factory.mktemp("worker")
        worker = WorkerProcess(folder / "worker.log", folder / "sql.jsonl")
        worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def worker(celery_worker_process, transactional_db):
    """Tests that use the worker need committed rows: they run outside a wrapping transaction."""
    return celery_worker_process


def wait_for(goal_id, predicate, *, timeout: float = 30.0, worker: WorkerProcess | None = None) -> Goal:
    """Poll the goal row until ``predicate(goal)`` holds; fail with the worker's log otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        goal = Goal.objects.get(pk=goal_id)
        if predicate(goal):
            return goal
        if time.monotonic() > deadline:
            log = worker.tail() if worker else ""
            pytest.fail(f"goal {goal_id} still {goal.state} (attempt {goal.attempt}) after {timeout}s\n{log}")
        time.sleep(0.05)


def final_task_results(goal: Goal, *, timeout: float = 10.0) -> dict[int, AsyncResult]:
    """Every task id the goal ever had, by attempt number, once each has reached a final Celery state:
    what a caller holding any of them sees. Fails if one is still waiting after ``timeout``."""
    results = {}
    for number, task_id in goal.attempts.order_by("number").values_list("number", "task_id"):
        result = AsyncResult(task_id, app=current_app)
        result.get(timeout=timeout, propagate=False, interval=0.1)
        results[number] = result
    return results


def wait_final(goal_id, **kwargs) -> Goal:
    return wait_for(goal_id, lambda goal: goal.state in FINAL_STATES, **kwargs)


@pytest.fixture
def kept_sends(monkeypatch) -> list:
    """What moves hand to the sender, kept in a list instead (a submit's own sends dropped), and no release
    timers: for tests that play the worker themselves, starting and ending attempts by hand."""
    sent: list = []
    monkeypatch.setattr("goals.submitting.moves.send_many", sent.extend)
    monkeypatch.setattr("goals.submitting.submit.send_many", lambda dispatches: None)
    monkeypatch.setattr("goals.worker.callbacks.timers.arm_after_commit", lambda starts: None)
    return sent
