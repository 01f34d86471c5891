"""``python manage.py demo`` (what ``make demo`` runs): the whole stack in the foreground.

Migrates, creates a demo admin, starts the web server, a Celery worker and beat as child processes on
the same database and broker as this process (the embedded ones when no URL is set: this process owns
them, so it must outlive its children), submits sample goals, prints their progress, and on Ctrl-C or
SIGTERM stops every child before it exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from goals.api import submit
from goals.models import Goal

ROOT = Path(settings.BASE_DIR)
DEMO_USER, DEMO_PASSWORD = "demo", "demo"


class Command(BaseCommand):
    help = "Run the demo stack (web, worker, beat) with sample goals until Ctrl-C or SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--slow-rows", type=int, default=600, help="Rows the slow sample goal exports.")

    def handle(self, *args, port: int, slow_rows: int, **options):
        self.stopping = False
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)

        call_command("migrate", interactive=False, verbosity=0)
        self._ensure_demo_user()
        children = self._start_children(port)
        try:
            goals = [
                submit("demo.report", {"pages": 20}),
                submit("demo.flaky_sync", {"account": "acme"}),
                submit("demo.slow_export", {"rows": slow_rows}),
            ]
            self.stdout.write(f"\nDemo running. Admin: http://127.0.0.1:{port}/admin/goals/goal/ "
                              f"(login {DEMO_USER} / {DEMO_PASSWORD}). Ctrl-C stops everything.\n")
            self._watch([g.id for g in goals])
        finally:
            self._stop_children(children)
        self.stdout.write("demo stopped: every child process has exited")

    def _stop(self, signum, frame) -> None:
        self.stopping = True

    def _ensure_demo_user(self) -> None:
        User = get_user_model()
        if not User.objects.filter(username=DEMO_USER).exists():
            User.objects.create_superuser(DEMO_USER, "demo@example.com", DEMO_PASSWORD)

    def _start_children(self, port: int) -> dict[str, subprocess.Popen]:
        env = {**os.environ, "DATABASE_URL": settings.DATABASE_URL, "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
               "PYTHONUNBUFFERED": "1"}
        commands = {
            "web": [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            "worker": [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork",
                       "--concurrency=2", "--loglevel=WARNING", "--hostname=demo@%h"],
            "beat": [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=WARNING"],
        }
        # Each child leads its own process group, so stopping it also stops its pool children.
        return {name: subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
                for name, cmd in commands.items()}

    def _stop_children(self, children: dict[str, subprocess.Popen]) -> None:
        for proc in children.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for name, proc in children.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop within 20 s: killing it")
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def _watch(self, goal_ids) -> None:
        last: dict = {}
        while not self.stopping:
            for goal in Goal.objects.filter(pk__in=goal_ids).order_by("created_at"):
                line = (f"{goal.kind:<18} {goal.state:<10} attempt {goal.attempt}/{goal.max_attempts} "
                        f"progress {goal.progress_current}/{goal.progress_total or '?'} {goal.progress_message}")
                if last.get(goal.pk) != (goal.state, goal.attempt, goal.progress_current):
                    last[goal.pk] = (goal.state, goal.attempt, goal.progress_current)
                    self.stdout.write(f"{goal.id} {line}")
            time.sleep(1)
