"""A throwaway goaltrack stack for the benchmarks that need real workers and beats: its database, its
queues (this process's own), and its ``celery`` processes (``deferred.py``, ``schedules.py``, ``events.py``).

Goals of ``bench.deferred`` and the release of due goals go to ``RELEASE_QUEUE``, which the workers started
here consume; ``bench.parked`` goals go to ``PARKED_QUEUE``, which nothing consumes. DATABASE_URL names the
server, CELERY_BROKER_URL the broker (default Redis on 127.0.0.1).
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fill import BENCH_DB, ROOT, admin_sql, server_url

RELEASE_QUEUE = f"bench-release-{os.getpid()}"
PARKED_QUEUE = f"bench-parked-{os.getpid()}"


def service_env() -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "settings_fan_in", "DATABASE_URL": server_url(BENCH_DB),
            "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}", "GOALS_TASK_QUEUE": RELEASE_QUEUE,
            "BENCH_PARKED_QUEUE": PARKED_QUEUE, "GOALS_LOG_LEVEL": "WARNING"}


@contextmanager
def bench_database() -> Iterator[None]:
    """``goaltrack_bench`` created and migrated, Django set up in this process with the bench executors;
    the queues purged and the database dropped afterwards."""
    admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    admin_sql(f"CREATE DATABASE {BENCH_DB}")
    os.environ.update(service_env())
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    import django

    django.setup()
    import bench_tasks  # noqa: F401  (the executors, registered here as in the workers)
    from django.core.management import call_command
    from django.db import connections

    from goals.submitting import sender

    try:
        call_command("migrate", verbosity=0)
        yield
    finally:
        sender.stop()
        purge()
        connections.close_all()
        admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def purge() -> None:
    from celery import current_app

    with current_app.connection_for_write() as conn:
        for queue in (RELEASE_QUEUE, PARKED_QUEUE):
            conn.default_channel.queue_purge(queue)
            conn.default_channel.queue_delete(queue)


def start(argv: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", *argv], cwd=ROOT, env=service_env(),
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)


def start_worker(log: Path, name: str = "bench") -> subprocess.Popen:
    """A worker (prefork, 2 children) of ``RELEASE_QUEUE``."""
    return start(["worker", "-Q", RELEASE_QUEUE, "--pool=prefork", "--concurrency=2", "--without-gossip",
                  "--without-mingle", f"-n={name}@%h", "--include=bench_tasks", "--loglevel=WARNING"], log)


def start_beat(log: Path) -> subprocess.Popen:
    """``celery beat`` with the database scheduler, as the compose file runs it (no file: several may run)."""
    return start(["beat", "--pidfile=", "--loglevel=WARNING",
                  "--scheduler=django_celery_beat.schedulers:DatabaseScheduler"], log)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (f"p50 {statistics.median(ordered) * 1000:7.0f} ms  p99 {p99 * 1000:7.0f} ms  "
            f"max {ordered[-1] * 1000:7.0f} ms")


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not done after {timeout:.0f} s")
        time.sleep(0.2)
