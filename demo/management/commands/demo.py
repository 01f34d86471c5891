"""``python manage.py demo`` (what ``make demo`` runs): the whole stack in the foreground.

Migrates, creates a demo admin, starts the web server, a Celery worker and beat as child processes on
the same database and broker as this process (the embedded ones when no URL is set: this process owns
them, so it must outlive its children), submits sample goals, prints their progress, and on Ctrl-C or
SIGTERM stops every child before it exits, within seconds: the worker with Celery's soft shutdown, which
gives the goals it runs ``CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT`` seconds, then cancels them and hands their
messages back to the broker. The next start takes those goals up again (a redelivered message of a running
attempt opens the next one: ``goals.worker.callbacks``) and shows them with its own samples. A second
Ctrl-C kills the worker at once: the reconciler then settles its goals as any lost worker's.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from config import embedded
from goals.api import submit
from goals.models import Goal

ROOT = Path(settings.BASE_DIR)
DEMO_USER, DEMO_PASSWORD = "demo", "demo"
# Beyond the soft shutdown's wait, how long the worker may take to cancel its tasks, requeue their messages
# and exit before it is killed.
WORKER_STOP_MARGIN_SECONDS = 20
# At most this many goals left unfinished by earlier runs are shown beside the new samples.
RESUMED_SHOWN = 10


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class Command(BaseCommand):
    help = "Run the demo stack (web, worker, beat) with sample goals until Ctrl-C or SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--slow-rows", type=int, default=600, help="Rows the slow sample goal exports.")

    def handle(self, *args, port: int, slow_rows: int, **options):
        if port_in_use(port):
            raise CommandError(f"port {port} is in use (another demo or server?): stop it, or choose another "
                               f"port with `make demo DEMO_PORT=8001` (manage.py demo --port 8001)")
        self.stopping, self.interrupts = False, 0
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGTERM, self._stop)

        call_command("migrate", interactive=False, verbosity=0)
        self._ensure_demo_user()
        resumed = self._left_unfinished()
        children = self._start_children(port)
        try:
            goals = [
                submit("demo.report", {"pages": 20}),
                submit("demo.flaky_sync", {"account": "acme"}),
                submit("demo.slow_export", {"rows": slow_rows}),
                submit("demo.monthly_report", {"month": timezone.now().strftime("%Y-%m")}),
            ]
            base = f"http://127.0.0.1:{port}"
            self.stdout.write(
                f"\nDemo running: {base}/\n"
                f"  Admin: {base}/admin/goals/goal/ (login {DEMO_USER} / {DEMO_PASSWORD})\n"
                f"  Logs:  " + "  ".join(f"{name} {path}" for name, path in self.log_paths.items()) + "\n"
                + (f"Taken up again: {len(resumed)} goal(s) an earlier run left unfinished, listed first.\n"
                   if resumed else "")
                + "Ctrl-C stops everything within seconds; goals it cuts short run again at the next start.\n")
            dead = self._watch([*resumed, *(g.id for g in goals)], children)
        finally:
            self._stop_children(children)
        self._summary([*resumed, *(g.id for g in goals)])
        self.stdout.write("demo stopped: every child process has exited")
        if dead:
            raise CommandError(f"the demo's {dead} exited on its own (its log: {self.log_paths[dead]}): "
                               "demo stopped")

    def _stop(self, signum, frame) -> None:
        self.stopping = True
        self.interrupts += 1

    def _left_unfinished(self) -> list[uuid.UUID]:
        """The top-level goals an earlier run left unfinished (its Ctrl-C handed their messages back to the
        broker, which delivers them again to this run's worker), oldest first."""
        recent = Goal.objects.active().filter(parent__isnull=True).order_by("-created_at")
        return list(recent.values_list("id", flat=True)[:RESUMED_SHOWN])[::-1]

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
        # Their logs go to files, so the terminal keeps the demo's own few lines (Celery's banners and the
        # sample failure's expected traceback would bury them).
        logs = embedded.embedded_dir() / "logs"
        logs.mkdir(exist_ok=True)
        self.log_paths = {name: logs / f"{name}.log" for name in commands}
        children = {}
        for name, cmd in commands.items():
            with open(self.log_paths[name], "w") as log:
                # Each child leads its own process group, so stopping it also stops its pool children.
                children[name] = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True, stdout=log,
                                                  stderr=subprocess.STDOUT)
        return children

    def _stop_children(self, children: dict[str, subprocess.Popen]) -> None:
        # Web and beat hold no work: stop them (and anything they started) at once.
        for name in ("web", "beat"):
            if children[name].poll() is None:
                os.killpg(children[name].pid, signal.SIGTERM)
        self._stop_worker(children["worker"])
        for name in ("web", "beat"):
            self._wait(name, children[name], timeout=20)

    def _stop_worker(self, worker: subprocess.Popen) -> None:
        """Celery's soft shutdown: SIGQUIT to the worker's main process only (a signal to the whole group
        would kill its pool children at once). Its running goals get ``CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT``
        seconds; then Celery cancels them and, as goal tasks are acknowledged late, hands their messages back
        to the broker. (SIGTERM, Celery's warm shutdown, would wait for them however long they take.)"""
        if worker.poll() is not None:
            return
        os.kill(worker.pid, signal.SIGQUIT)
        grace = settings.CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT
        self.stdout.write(f"stopping the worker: running goals get {grace:g} s to finish, then go back to the "
                          "queue for the next start (Ctrl-C again to kill it at once: the reconciler then "
                          "retries or fails and flags the goals it ran)")
        deadline, interrupts = time.monotonic() + grace + WORKER_STOP_MARGIN_SECONDS, self.interrupts
        while worker.poll() is None and time.monotonic() < deadline and self.interrupts == interrupts:
            time.sleep(0.2)
        killed = worker.poll() is None and self.interrupts != interrupts
        if killed:
            self.stdout.write("Ctrl-C again: killing the worker")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
        self._wait("worker", worker, timeout=5 if killed else 0.1)

    def _wait(self, name: str, proc: subprocess.Popen, *, timeout: float) -> None:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stderr.write(f"{name} did not stop in time: killing it")
        # Whatever its main process left behind (pool children, a runserver child) goes with its group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def _summary(self, goal_ids) -> None:
        goals = list(Goal.objects.filter(pk__in=goal_ids).order_by("created_at"))
        for goal in goals:
            self.stdout.write(f"{goal.id} {goal.kind:<18} {goal.state:<10} (at stop)")
        if unfinished := sum(not goal.is_final for goal in goals):
            self.stdout.write(f"{unfinished} goal(s) not finished: the next start (make demo) takes them up again")

    def _watch(self, goal_ids, children: dict[str, subprocess.Popen]) -> str | None:
        """Show the sample goals until asked to stop; returns the name of a child that died meanwhile.

        On a terminal, one line per goal, redrawn in place each second; elsewhere (a log file, a pipe) a
        line each time a goal changes state or attempt, not at every progress step."""
        tty, drawn, last = self.stdout.isatty(), 0, {}
        while not self.stopping:
            dead = [name for name, proc in children.items() if proc.poll() is not None]
            if dead:
                return dead[0]
            goals = list(Goal.objects.filter(pk__in=goal_ids).order_by("created_at"))
            if tty:
                # Up over the previous block, then each line cleared and written again.
                self.stdout.write("\x1b[F" * drawn + "".join(f"\x1b[2K{goal_line(g)}\n" for g in goals), ending="")
                drawn = len(goals)
            else:
                for goal in goals:
                    if last.get(goal.pk) != (goal.state, goal.attempt):
                        last[goal.pk] = (goal.state, goal.attempt)
                        self.stdout.write(goal_line(goal))
            self._pause(1.0)
        return None

    def _pause(self, seconds: float) -> None:
        """Sleep, but wake within a tenth of a second of Ctrl-C (a signal does not cut ``time.sleep`` short)."""
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(0.1)


def goal_line(goal: Goal) -> str:
    progress = f"{goal.progress_current}/{goal.progress_total or '?'} {goal.progress_message}".rstrip()
    return f"{goal.id} {goal.kind:<20} {goal.state:<10} attempt {goal.attempt}/{goal.max_attempts}  {progress}"
