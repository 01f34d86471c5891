"""End-to-end throughput, transactions and statements per task, and worker memory: goaltrack against the
plain recipe (Celery + django-celery-results + update_state), on the same machine, broker and worker flags.

    make bench    # or: .venv/bin/python bench/throughput.py [--n 5000] [--runs 3] [--brokers redis rabbitmq]

For each broker and stack it starts one worker (the same command for all), submits N tasks from this
process and times submit -> every task final. Transactions come from PostgreSQL's own counters
(``pg_stat_database`` deltas of the bench database, read after every connection to it has closed, so
every backend has flushed its counters; the harness's own completion polls are subtracted). Statements
are counted by the workers (``sqlcount.py``) and by this process on all its connections (goaltrack sends
from a thread of its own), less the completion polls. Writes a markdown
table and ``bench/results/throughput-<brokers>.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from fill import BENCH_DB, ROOT, admin_sql, server_url

BROKERS = {"redis": "redis://127.0.0.1:6379/0", "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//"}
WORKER_FLAGS = ["--pool=prefork", "--concurrency=2", "--without-gossip", "--without-mingle",
                "--without-heartbeat", "--loglevel=WARNING"]
# (label, worker settings module, what is submitted)
STACKS = [
    ("goaltrack", "config.settings.base", "goal"),
    ("plain, tutorial defaults", "settings_plain_default", "plain"),
    ("plain, tuned (connection reuse)", "settings_plain_tuned", "plain"),
    ("ceiling: ignore_result", "settings_plain_tuned", "ceiling"),
]
RESULTS_DIR = ROOT / "bench" / "results"


@dataclass
class Run:
    broker: str
    stack: str
    work: str
    n: int
    seconds: float
    submit_seconds: float
    per_second: float
    transactions_per_task: float
    statements_per_task: float
    worker_rss_mb: float
    wal_bytes_per_task: float = 0.0
    wal_records_per_task: float = 0.0
    # Of the goal rows' updates, the share PostgreSQL made HOT (no index touched); goaltrack only.
    hot_update_share: float | None = None
    # Every run's figure, in round order (on the median run only).
    runs_per_second: list[float] = field(default_factory=list)


def worker_command(queue: str, name: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "-n", f"{name}@%h",
            "--include=bench_tasks,sqlcount", *WORKER_FLAGS]


def rss_mb(pid: int) -> float:
    """Resident memory of the worker's main process and its pool children."""
    pids = [pid, *(int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
                   .stdout.split())]
    total_kb = 0
    for each in pids:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


def transactions() -> int:
    """Committed plus rolled-back transactions of the bench database so far (read from another database)."""
    with psycopg.connect(server_url("postgres"), autocommit=True) as conn:
        row = conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
                           [BENCH_DB]).fetchone()
    return int(row[0])


def wal_position() -> tuple[int, int]:
    """The server's WAL position in bytes and its WAL records so far (the whole server: nothing else runs)."""
    with psycopg.connect(server_url("postgres"), autocommit=True) as conn:
        row = conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn, wal_records FROM pg_stat_wal").fetchone()
    return int(row[0]), int(row[1])


def goal_updates() -> tuple[int, int]:
    """Updates of goal rows so far, and how many of them were HOT."""
    with psycopg.connect(server_url(BENCH_DB), autocommit=True) as conn:
        row = conn.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'goals_goal'"
                           ).fetchone()
    return int(row[0]), int(row[1])


class Worker:
    def __init__(self, settings_module: str, broker_url: str, queue: str, count_dir: str, log: Path) -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "CELERY_BROKER_URL": broker_url,
               "DATABASE_URL": server_url(BENCH_DB), "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}",
               "BENCH_SQL_COUNT_DIR": count_dir, "GOALS_LOG_LEVEL": "WARNING"}
        self.name = f"bench-{uuid.uuid4().hex[:8]}"
        self.log = log.open("w")
        self.proc = subprocess.Popen(worker_command(queue, self.name), cwd=ROOT, env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, app: Any) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the worker exited: see {self.log.name}")
            if app.control.ping(destination=[f"{self.name}@{os.uname().nodename}"], timeout=0.5):
                return
        raise SystemExit(f"the worker did not answer within 60 s: see {self.log.name}")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


def clear_tables() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE goals_goal, goals_attempt, goals_goalevent, goals_externalevent,"
                       " django_celery_results_taskresult")


_statements = 0


def _counting(execute: Any, sql: str, params: Any, many: bool, context: dict) -> Any:
    global _statements
    _statements += 1
    return execute(sql, params, many, context)


def count_statements(*, connection: Any, **kwargs: Any) -> None:
    """Count every statement of this process, on any thread's connection (goaltrack sends from a thread)."""
    if _counting not in connection.execute_wrappers:
        connection.execute_wrappers.append(_counting)


def submit_all(kind: str, work: str, n: int, queue: str) -> None:
    """Send ``n`` tasks."""
    import bench_tasks

    from goals.api import submit

    if kind == "goal":
        for _ in range(n):
            submit(f"bench.{work}", {})
    elif kind == "plain":
        task = bench_tasks.plain_noop if work == "noop" else bench_tasks.plain_progress
        for _ in range(n):
            task.apply_async(queue=queue)
    else:
        for _ in range(n):
            bench_tasks.plain_ceiling.apply_async(queue=queue)
        bench_tasks.plain_sentinel.apply_async(queue=queue)


def finished_count(kind: str) -> int:
    from django.db import connection

    sql = {
        "goal": "SELECT count(*) FROM goals_goal WHERE finished_at IS NOT NULL",
        "plain": "SELECT count(*) FROM django_celery_results_taskresult WHERE status = 'SUCCESS'",
        "ceiling": "SELECT count(*) FROM django_celery_results_taskresult WHERE task_name = 'plain.sentinel'",
    }[kind]
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def one_run(broker: str, stack: str, settings_module: str, kind: str, work: str, n: int, app: Any,
            logs: Path, drain: bool = False) -> Run:
    """One timed run. ``drain``: everything is sent before the worker starts, and the clock runs from the
    worker being ready, so the figure is the worker side's alone."""
    from django.conf import settings
    from django.db import connections

    from goals.submitting import sender

    queue = settings.GOALS_TASK_QUEUE
    clear_tables()
    connections.close_all()
    count_dir = tempfile.mkdtemp(prefix="sqlcount-")
    updates_before, wal_before = goal_updates(), wal_position()  # before the count: its own read is not counted
    before, statements_before = transactions(), _statements
    if drain:
        clock = time.perf_counter()
        submit_all(kind, work, n, queue)
        submitted = time.perf_counter() - clock
    worker = Worker(settings_module, BROKERS[broker], queue, count_dir, logs / f"{broker}-{kind}-{work}.log")
    try:
        worker.wait_ready(app)
        clock = time.perf_counter()
        if not drain:
            submit_all(kind, work, n, queue)
            submitted = time.perf_counter() - clock
        target, polls = (1 if kind == "ceiling" else n), 0
        deadline = time.monotonic() + 1800
        while finished_count(kind) < target:
            polls += 1
            if time.monotonic() > deadline:
                raise SystemExit(f"{stack}: not finished within 30 minutes")
            time.sleep(0.05)
        seconds = time.perf_counter() - clock
        polls += 1
        memory = rss_mb(worker.proc.pid)
    finally:
        worker.stop()
        sender.stop()  # its connection too: a backend flushes its counters when it closes
        connections.close_all()
    time.sleep(0.5)  # backends that just closed have flushed their counters by now
    xacts = transactions() - before - polls
    wal_after, updates_after = wal_position(), goal_updates()
    updates, hot = (after - first for after, first in zip(updates_after, updates_before, strict=True))
    submit_statements = _statements - statements_before - polls
    worker_statements = sum(int(p.read_text()) for p in Path(count_dir).iterdir())
    shutil.rmtree(count_dir)
    return Run(broker, stack, work, n, round(seconds, 2), round(submitted, 2), round(n / seconds, 1),
               round(xacts / n, 2), round((worker_statements + submit_statements) / n, 2), round(memory, 1),
               wal_bytes_per_task=round((wal_after[0] - wal_before[0]) / n),
               wal_records_per_task=round((wal_after[1] - wal_before[1]) / n, 1),
               hot_update_share=round(hot / updates, 3) if kind == "goal" and updates else None)


def median_run(runs: list[Run]) -> Run:
    middle = statistics.median_low([run.seconds for run in runs])
    return next(run for run in runs if run.seconds == middle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--brokers", nargs="+", default=["redis", "rabbitmq"], choices=sorted(BROKERS))
    parser.add_argument("--work", nargs="+", default=["noop", "progress"], choices=["noop", "progress"])
    parser.add_argument("--stacks", nargs="+", default=[label for label, _, _ in STACKS],
                        help="labels of the stacks to run (default: all)")
    parser.add_argument("--drain", action="store_true",
                        help="send everything before the worker starts: time the worker side alone")
    parser.add_argument("--runs-out", help=argparse.SUPPRESS)  # one broker's runs, for the parent process
    args = parser.parse_args()
    started = time.perf_counter()
    if len(args.brokers) > 1:
        # One process per broker: Celery's connection and producer pools are per app and process.
        results = []
        for broker in args.brokers:
            out = Path(tempfile.mkstemp(suffix=".json")[1])
            subprocess.run([sys.executable, __file__, "--n", str(args.n), "--runs", str(args.runs), "--brokers",
                            broker, "--work", *args.work, "--stacks", *args.stacks, "--runs-out", str(out),
                            *(["--drain"] if args.drain else [])],
                           check=True)
            results += [Run(**run) for run in json.loads(out.read_text())]
            out.unlink()
        report(results, args, time.perf_counter() - started, Path(tempfile.gettempdir()))
        return
    admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    admin_sql(f"CREATE DATABASE {BENCH_DB}")
    os.environ.update(DATABASE_URL=server_url(BENCH_DB), DJANGO_SETTINGS_MODULE="config.settings.base",
                      GOALS_LOG_LEVEL="WARNING")
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    logs = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    results: list[Run] = []
    [broker] = args.brokers
    os.environ["CELERY_BROKER_URL"] = BROKERS[broker]
    try:
        results += run_broker(broker, args, logs)
    finally:
        admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    if args.runs_out:
        Path(args.runs_out).write_text(json.dumps([asdict(run) for run in results]))
        return
    report(results, args, time.perf_counter() - started, logs)


def run_broker(broker: str, args: argparse.Namespace, logs: Path) -> list[Run]:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from goals.conf import goal_settings

    call_command("migrate", verbosity=0)
    from django.db import connection
    from django.db.backends.signals import connection_created

    count_statements(connection=connection)
    connection_created.connect(count_statements)
    # One queue of this process's own, set before the executors register (they take it then).
    settings.GOALS_TASK_QUEUE = f"bench-{os.getpid()}"
    goal_settings.cache_clear()
    import bench_tasks  # noqa: F401

    from config.celery import app
    cases = [(work, stack, settings_module, kind) for work in args.work for stack, settings_module, kind in STACKS
             if not (kind == "ceiling" and work != "noop") and stack in args.stacks]
    # Unmeasured: the first run of a process pays for warming the database, broker and imports.
    work, stack, settings_module, kind = cases[0]
    one_run(broker, stack, settings_module, kind, work, min(args.n, 500), app, logs, args.drain)
    # Round by round, every stack once per round: a machine that drifts during the benchmark moves all
    # stacks alike instead of whichever ran last.
    runs: dict[tuple, list[Run]] = {case: [] for case in cases}
    for round_number in range(1, args.runs + 1):
        for case in cases:
            work, stack, settings_module, kind = case
            run = one_run(broker, stack, settings_module, kind, work, args.n, app, logs, args.drain)
            runs[case].append(run)
            print(f"  round {round_number}: {broker:8} {work:8} {stack:34} {run.per_second:7.1f}/s"
                  f"  (sent in {run.submit_seconds:.1f}s)", flush=True)
    medians = []
    for case in cases:
        best = median_run(runs[case])
        best.runs_per_second = [run.per_second for run in runs[case]]
        medians.append(best)
    return medians


def report(results: list[Run], args: argparse.Namespace, total: float, logs: Path) -> None:
    import celery
    import django
    import django_celery_results

    versions = (f"Python {sys.version.split()[0]}, Django {django.get_version()}, Celery {celery.__version__}, "
                f"django-celery-results {django_celery_results.__version__}")
    command = " ".join(["celery -A config worker -Q <queue>", *WORKER_FLAGS, "--include=bench_tasks,sqlcount"])
    lines = [f"{args.n:,} tasks per run, median of {args.runs} runs (stacks interleaved round by round); {versions}",
             f"worker: `{command}`", "",
             "| broker | work | stack | tasks/s | runs | vs tuned plain | vs default plain | transactions/task |"
             " statements/task | WAL bytes/task | WAL records/task | HOT updates | worker RSS MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for run in results:
        same = {r.stack: r for r in results if r.broker == run.broker and r.work == run.work}
        tuned, default = same.get(STACKS[2][0]), same.get(STACKS[1][0])
        vs_tuned = f"x{run.per_second / tuned.per_second:.2f}" if tuned else "-"
        vs_default = f"x{run.per_second / default.per_second:.2f}" if default else "-"
        each = ", ".join(f"{rate:.0f}" for rate in run.runs_per_second)
        lines.append(f"| {run.broker} | {run.work} | {run.stack} | {run.per_second:.1f} | {each} | {vs_tuned} | "
                     f"{vs_default} | {run.transactions_per_task:.2f} | {run.statements_per_task:.2f} | "
                     f"{run.wal_bytes_per_task:,.0f} | {run.wal_records_per_task:.1f} | "
                     f"{'-' if run.hot_update_share is None else f'{run.hot_update_share:.0%}'} | "
                     f"{run.worker_rss_mb:.0f} |")
    print("\n" + "\n".join(lines) + f"\n\ntotal {total:.0f}s; worker logs in {logs}")
    RESULTS_DIR.mkdir(exist_ok=True)
    name = "throughput-" + "-".join(args.brokers)
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(
        {"versions": versions, "worker_command": command, "n": args.n, "runs": args.runs,
         "results": [asdict(run) for run in results]}, indent=2))
    (RESULTS_DIR / f"{name}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
