"""Status reads under load: goaltrack's JSON status endpoint against the view the tutorials teach
(``AsyncResult(task_id)`` as JSON), both behind the same token authentication, served by gunicorn
(2 sync workers) and loaded by ApacheBench (``ab``) from a separate process with a fixed number of
requests.

    make bench    # or: .venv/bin/python bench/status_reads.py [--requests 5000] [--concurrency 4] [--runs 3]

Also counts the SQL queries of one request of each (in-process, Django's test client) and checks that a
poll of an unchanged goal with its ETag gets ``304 Not Modified``. Writes ``bench/results/status_reads.*``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from fill import BENCH_DB, ROOT, admin_sql, server_url

PORT = 8765
RESULTS_DIR = ROOT / "bench" / "results"


def setup_rows() -> tuple[str, str, str, str]:
    """A user with a token, a succeeded goal of theirs and its result row; returns (key, goal, task, etag)."""
    from celery import current_app
    from celery.app.task import Context
    from django.contrib.auth.models import User
    from django.test import Client
    from django.utils import timezone

    from goals.models import Goal
    from goals.tokens import api_token_create

    user = User.objects.create_user("reader")
    _, key = api_token_create(user=user, name="bench")
    task_id = str(uuid.uuid4())
    now = timezone.now()
    goal = Goal.objects.create(kind="bench.noop", state="succeeded", attempt=1, max_attempts=1, task_id=task_id,
                               owner=user, result={"rows": 42}, created_at=now, started_at=now, finished_at=now,
                               final_state="succeeded", progress_current=10, progress_total=10, progress_message="done")
    request = Context(id=task_id, task="goals.execute", args=[str(goal.pk), 1], kwargs={}, hostname="bench@host",
                      argsrepr=None, kwargsrepr=None)
    current_app.backend.mark_as_done(task_id, {"rows": 42}, request=request)
    etag = Client().get(f"/api/goals/{goal.pk}/", HTTP_AUTHORIZATION=f"Token {key}")["ETag"]
    return key, str(goal.pk), task_id, etag


def queries_per_request(path: str, key: str) -> tuple[int, int]:
    """(all queries, token lookups) for one request, in-process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.get(path, HTTP_AUTHORIZATION=f"Token {key}")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200, (path, response.status_code)
    auth = sum(1 for q in queries.captured_queries if "goals_apitoken" in q["sql"])
    return len(queries.captured_queries), auth


def start_gunicorn(logs: Path) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings_status", "PYTHONPATH": f"{ROOT}:{ROOT / 'bench'}"}
    log = (logs / "gunicorn.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "config.wsgi", "--workers", "2", "--bind",
                             f"127.0.0.1:{PORT}", "--log-level", "warning"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"gunicorn did not listen on {PORT}: see {logs / 'gunicorn.log'}")


def ab(path: str, headers: list[str], requests: int, concurrency: int) -> dict[str, float]:
    command = ["ab", "-q", "-n", str(requests), "-c", str(concurrency)]
    for header in headers:
        command += ["-H", header]
    output = subprocess.run([*command, f"http://127.0.0.1:{PORT}{path}"], capture_output=True, text=True,
                            check=True).stdout
    rate = float(re.search(r"Requests per second:\s+([\d.]+)", output).group(1))
    failed = int(re.search(r"Failed requests:\s+(\d+)", output).group(1))
    non_2xx = re.search(r"Non-2xx responses:\s+(\d+)", output)
    percentiles = {int(p): float(ms) for p, ms in re.findall(r"^\s+(\d+)%\s+(\d+)", output, re.MULTILINE)}
    return {"rate": rate, "failed": failed, "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
            "p50": percentiles.get(50, 0.0), "p99": percentiles.get(99, 0.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("ab"):
        raise SystemExit("ab (ApacheBench) is needed: apt-get install apache2-utils")
    admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    admin_sql(f"CREATE DATABASE {BENCH_DB}")
    os.environ.update(DATABASE_URL=server_url(BENCH_DB), DJANGO_SETTINGS_MODULE="settings_status",
                      GOALS_LOG_LEVEL="WARNING")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    sys.path[:0] = [str(ROOT), str(ROOT / "bench")]
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    logs = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-status-{os.getpid()}"
    logs.mkdir(exist_ok=True)
    rows = []
    server = None
    try:
        call_command("migrate", verbosity=0)
        key, goal_id, task_id, etag = setup_rows()
        ours, plain = f"/api/goals/{goal_id}/", f"/plain/status/{task_id}/"
        counts = {"goaltrack": queries_per_request(ours, key), "AsyncResult": queries_per_request(plain, key)}
        connections.close_all()
        server = start_gunicorn(logs)
        auth = f"Authorization: Token {key}"
        cases = [("goaltrack status", ours, [auth], "goaltrack"),
                 ("goaltrack status, If-None-Match (304)", ours, [auth, f"If-None-Match: {etag}"], "goaltrack"),
                 ("AsyncResult view (tutorial)", plain, [auth], "AsyncResult")]
        for _, path, headers, _ in cases:
            ab(path, headers, 200, args.concurrency)  # warm-up: both workers, connections, caches
        # Interleaved, so a drift of the machine's load over time weighs on every case alike.
        runs: dict[str, list[dict]] = {name: [] for name, _, _, _ in cases}
        for _ in range(args.runs):
            for name, path, headers, _ in cases:
                runs[name].append(ab(path, headers, args.requests, args.concurrency))
        for name, _, _, counted in cases:
            best = sorted(runs[name], key=lambda run: run["rate"])[len(runs[name]) // 2]
            rows.append({"case": name, **best, "rates": [run["rate"] for run in runs[name]],
                         "queries": counts[counted][0], "auth_queries": counts[counted][1]})
            print(f"  {name}: {best['rate']:.0f} req/s, non-2xx {best['non_2xx']}", flush=True)
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)
        connections.close_all()
        admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    report(rows, args)


def report(rows: list[dict], args: argparse.Namespace) -> None:
    baseline = next(row for row in rows if row["case"].startswith("AsyncResult"))["rate"]
    lines = [f"{args.requests:,} requests per run, concurrency {args.concurrency}, median of {args.runs} runs; "
             "gunicorn config.wsgi --workers 2; ab from a separate process", "",
             "| endpoint | req/s | vs AsyncResult view | p50 ms | p99 ms | non-2xx | failed | queries"
             " (of which auth) |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['case']} | {row['rate']:.0f} | x{row['rate'] / baseline:.2f} | {row['p50']:.0f} | "
                     f"{row['p99']:.0f} | {row['non_2xx']} | {row['failed']} | {row['queries']}"
                     f" ({row['auth_queries']}) |")
    print("\n" + "\n".join(lines))
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "status_reads.md").write_text("\n".join(lines) + "\n")
    (RESULTS_DIR / "status_reads.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    medians = [statistics.median(row["rates"]) for row in rows]
    assert all(medians), "every case served requests"


if __name__ == "__main__":
    main()
