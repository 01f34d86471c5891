"""``python -m faults`` (``make faults``): run the fault-injection scenarios and print their figures.

    python -m faults [--short] [--only child-sigkill worker-sigkill ...] [--base-settings MODULE]

Runs against the deployment's services as its settings name them (``--base-settings``, by default
``config.settings.base``: ``DATABASE_URL`` and ``CELERY_BROKER_URL``; with either unset, the embedded
servers ``make test`` uses), on a scratch database created next to ``DATABASE_URL``'s
(``<name>_faults_<pid>``, dropped at the end) and a queue of the run's own.
Exits 1 if any scenario found a broken promise. Writes ``faults/results/faults.{md,json}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from faults.processes import TIMINGS

RESULTS = Path(__file__).resolve().parent / "results"


def _database_url(name: str) -> str:
    return urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name}").geturl()


def _admin(statement: str) -> None:
    with psycopg.connect(_database_url("postgres"), autocommit=True) as conn:
        conn.execute(statement)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the small sizes the test suite uses")
    parser.add_argument("--only", nargs="+", metavar="SCENARIO", help="run only these scenarios (by name)")
    parser.add_argument("--base-settings", default=os.environ.get("FAULTS_BASE_SETTINGS", "config.settings.base"))
    args = parser.parse_args()
    # This process starts the embedded servers where a URL is unset, and its children attach to them.
    from config import embedded

    os.environ["DATABASE_URL"] = os.environ.get("DATABASE_URL") or embedded.postgres_url()
    os.environ["CELERY_BROKER_URL"] = os.environ.get("CELERY_BROKER_URL") or embedded.redis_url()
    # A database of this run's own: two runs on one server do not drop each other's.
    scratch = f"{urlsplit(os.environ['DATABASE_URL']).path.lstrip('/') or 'goaltrack'}_faults_{os.getpid()}"
    _admin(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")
    _admin(f"CREATE DATABASE {scratch}")
    os.environ.setdefault("GOALS_LOG_LEVEL", "WARNING")  # this process's own log; its children log at INFO
    os.environ.update(DJANGO_SETTINGS_MODULE="faults.settings", FAULTS_BASE_SETTINGS=args.base_settings,
                      DATABASE_URL=_database_url(scratch), FAULTS_QUEUE=f"goals-faults-{os.getpid()}",
                      **{name: os.environ.get(name, value) for name, value in TIMINGS.items()})
    try:
        outcomes = run(args, scratch)
    finally:
        from django.db import connections

        connections.close_all()
        _admin(f"DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")
    sys.exit(1 if any(outcome.problems for outcome in outcomes) else 0)


def run(args: argparse.Namespace, scratch: str) -> list:
    import django

    django.setup()
    from django.core.management import call_command

    from faults.outages import rabbitmq_reachable, rabbitmq_url
    from faults.processes import Stage
    from faults.report import write_report
    from faults.scenarios import SCENARIOS

    unknown = set(args.only or ()) - set(SCENARIOS)
    if unknown:
        raise SystemExit(f"no such scenario: {', '.join(sorted(unknown))} (there are: {', '.join(SCENARIOS)})")
    call_command("migrate", verbosity=0)
    folder = Path(tempfile.mkdtemp(prefix="goaltrack-faults-"))
    stage = Stage(database_url=os.environ["DATABASE_URL"], broker_url=os.environ["CELERY_BROKER_URL"],
                  folder=folder, base_settings=args.base_settings, queue=os.environ["FAULTS_QUEUE"],
                  timings={name: os.environ[name] for name in TIMINGS})
    outcomes, started = [], time.monotonic()
    for name in args.only or list(SCENARIOS):
        if name.startswith("rabbitmq") and not rabbitmq_reachable():
            print(f"{name}: skipped, RabbitMQ is not reachable at {rabbitmq_url()} (FAULTS_RABBITMQ_URL)", flush=True)
            continue
        scenario = SCENARIOS[name]
        sizes = scenario.short if args.short else scenario.full
        clock = time.monotonic()
        outcome = scenario.run(stage, **sizes)
        outcome.figures["scenario s"] = round(time.monotonic() - clock, 1)
        outcomes.append(outcome)
        verdict = "ok" if not outcome.problems else "PROBLEMS: " + "; ".join(outcome.problems)
        print(f"{outcome.scenario}: {verdict}  {json.dumps(outcome.figures, default=str)}", flush=True)
    report = write_report(outcomes, RESULTS, sizes="short" if args.short else "full",
                          total=time.monotonic() - started, logs=folder)
    print("\n" + report)
    return outcomes


if __name__ == "__main__":
    main()
