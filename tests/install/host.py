"""A team's own project, built as the documentation's tutorial ("Add goaltrack to your project",
``docs/tutorial.md``) says, in a fresh virtual environment outside the checkout, with the built wheel
installed (not the checkout).

Every file the tutorial shows is taken from the tutorial itself (the block after each
``<!-- install-test: PATH -->`` marker), so the page cannot drift from what is tested. Only what is the
host's own choice is added: its database name and broker URL (pointing at the test session's servers),
and a queue of its own so no other worker on the broker takes its tasks.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from tests.paths import ROOT

MARKER = re.compile(r"<!-- install-test: (?P<path>\S+) -->\n```\w*\n(?P<body>.*?)```", re.S)


TUTORIAL = ROOT / "docs" / "tutorial.md"


def tutorial_blocks() -> dict[str, str]:
    """The tutorial's install-test blocks, by the path (or step) each is for."""
    return {match["path"]: match["body"] for match in MARKER.finditer(TUTORIAL.read_text())}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Host:
    """The generated project ``shop`` and its virtual environment, under ``folder``."""

    folder: Path
    database_url: str
    broker_url: str
    queue: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    logs: list[object] = field(default_factory=list)

    @property
    def project(self) -> Path:
        return self.folder / "shop"

    @property
    def bin(self) -> Path:
        return self.folder / "venv" / "bin"

    def env(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items()
               if name not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "CELERY_BROKER_URL", "PYTHONPATH",
                               "VIRTUAL_ENV", "GOALS_TASK_QUEUE"}}
        env.update(PYTHONUNBUFFERED="1", PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}",
                   DJANGO_SUPERUSER_PASSWORD="install-test")
        return env

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 300) -> str:
        result = subprocess.run(list(args), cwd=cwd or self.project, env=self.env(), capture_output=True, text=True,
                                timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"{shlex.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result.stdout + result.stderr

    def manage(self, *args: str, timeout: float = 300) -> str:
        return self.run(str(self.bin / "python"), "manage.py", *args, timeout=timeout)

    # --- building it --------------------------------------------------------------------------------

    def install(self, wheel: Path) -> None:
        """A fresh virtual environment with what the tutorial's install line names, the wheel for goaltrack."""
        subprocess.run([sys.executable, "-m", "venv", str(self.folder / "venv")], check=True, timeout=120)
        [line] = [line for line in tutorial_blocks()["install"].splitlines() if line.startswith("pip install")]
        packages = [str(wheel) if word == "goaltrack" else word for word in shlex.split(line)[2:]]
        self.run(str(self.bin / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip", cwd=self.folder)
        self.run(str(self.bin / "python"), "-m", "pip", "install", "--quiet", *packages, cwd=self.folder,
                 timeout=600)

    def generate(self) -> None:
        """``startproject`` and ``startapp``, then every file the tutorial's steps write."""
        self.run(str(self.bin / "django-admin"), "startproject", "shop", cwd=self.folder)
        self.manage("startapp", "orders")
        blocks = tutorial_blocks()
        settings = self.project / "shop" / "settings.py"
        settings.write_text(settings.read_text() + "\n" + blocks["shop/settings.py"] + "\n".join([
            "",
            "# This host's own choices: its database, its broker, a queue no other worker takes.",
            f"DATABASES['default'].update({_database_settings(self.database_url)!r})",
            f"CELERY_BROKER_URL = {self.broker_url!r}",
            f"CELERY_TASK_DEFAULT_QUEUE = GOALS_TASK_QUEUE = {self.queue!r}",
            'INSTALLED_APPS += ["orders"]',
            "GOALS_RECONCILE_INTERVAL = 2",
            "",
        ]))
        for path, body in blocks.items():
            if path not in {"install", "shop/settings.py"}:
                (self.project / path).parent.mkdir(parents=True, exist_ok=True)
                (self.project / path).write_text(body)

    # --- running it ---------------------------------------------------------------------------------

    def start(self, *args: str, log: str) -> subprocess.Popen:
        handle = (self.folder / log).open("wb")
        self.logs.append(handle)
        process = subprocess.Popen(list(args), cwd=self.project, env=self.env(), stdout=handle,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.folder / name).read_text(errors="replace")

    def wait_for_log(self, name: str, text: str, *, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log(name):
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in {name} after {timeout} s:\n{self.log(name)[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop what this host started (warm shutdown first, as a deployment would), and only that."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for handle in self.logs:
            handle.close()


def _database_settings(url: str) -> dict[str, object]:
    """Django's connection settings for a ``postgresql://`` URL (a TCP host or a socket folder)."""
    parts = urlsplit(url)
    host = parse_qs(parts.query).get("host", [parts.hostname or ""])[0]
    return {"NAME": parts.path.lstrip("/"), "USER": unquote(parts.username or "postgres"),
            "PASSWORD": unquote(parts.password or ""), "HOST": host, "PORT": parts.port or ""}
