"""Many schedulers and reconcilers at once: three beat processes sending the scheduled pass, and four
worker processes running it, over thousands of goals that all need the same repair."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

from django.db import connection
from django.test import override_settings

from faults.checks import verify
from faults.common import Outcome, new_run, running, submit, wait_all_final, wait_until
from faults.processes import Stage, Worker, beat
from goals.lifecycle.states import ENQUEUE
from goals.models import EventType, Goal, GoalEvent, ReconciliationReport
from goals.schedule import ensure_periodic_tasks


def deadlocks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def overlapping_passes(since: float) -> int:
    """Pairs of scheduled passes (started after ``since``, a Unix time) that ran at the same time."""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT count(*) FROM {ReconciliationReport._meta.db_table} a
              JOIN {ReconciliationReport._meta.db_table} b ON a.id < b.id
             WHERE a.trigger = 'schedule' AND b.trigger = 'schedule' AND NOT a.dry_run AND NOT b.dry_run
               AND a.started_at >= to_timestamp(%s) AND b.started_at >= to_timestamp(%s)
               AND a.started_at < b.finished_at AND b.started_at < a.finished_at""", [since, since])
        return cursor.fetchone()[0]


def beat_storm(stage: Stage, *, anomalies: int, beats: int = 3, reconcilers: int = 4, timeout: float = 600) -> Outcome:
    """``anomalies`` goals committed while the broker was unreachable (never sent), then ``beats`` beat
    processes and ``reconcilers`` worker processes running the scheduled pass: each goal sent exactly
    once, no two passes at the same time, no deadlock."""
    run = new_run("beat-storm")
    period = float(stage.timings["FAULTS_RECONCILE_EVERY"])
    # Committed, never sent: the client's broker is a port nothing listens on.
    code, _ = submit(replace(stage, broker_url="redis://127.0.0.1:1/0"), run, anomalies, timeout=timeout)
    never_sent = Goal.objects.filter(params__run=run, state="pending").count()
    with override_settings(GOALS_RECONCILE_INTERVAL=period):
        ensure_periodic_tasks()
    started, deadlocks_before = time.time(), deadlocks()
    default_queue = f"{stage.queue}-default"
    processes = [Worker(stage, f"reconciler-{i}-{run}", concurrency=1, queues=default_queue)
                 for i in range(reconcilers)]
    processes += [beat(stage, f"beat-{i}") for i in range(beats)]
    with running(Worker(stage, f"goals-{run}"), *processes):
        clock = time.monotonic()
        wait_until(lambda: not Goal.objects.filter(params__run=run, state="pending").exists(), timeout=timeout)
        all_sent = time.monotonic() - clock
        wait_all_final(run, anomalies, timeout=timeout)
        time.sleep(2 * period)  # passes over goals already repaired must leave them alone
    verdict = verify(run)
    enqueues = GoalEvent.objects.filter(goal__params__run=run, event=EventType.TRANSITION, transition=ENQUEUE.name)
    sent_twice = enqueues.count() - enqueues.values("goal_id").distinct().count()
    passes = ReconciliationReport.objects.filter(trigger="schedule", dry_run=False,
                                                 started_at__gte=datetime.fromtimestamp(started, tz=UTC)).count()
    overlaps, new_deadlocks = overlapping_passes(started), deadlocks() - deadlocks_before
    skipped = sum(process.log_path.read_text(errors="replace").count("reconciler pass skipped")
                  for process in processes if isinstance(process, Worker))
    problems = []
    if never_sent != anomalies:
        problems.append(f"{never_sent} of {anomalies} goals were left unsent by the client")
    if sent_twice:
        problems.append(f"{sent_twice} sends beyond one per goal")
    if overlaps:
        problems.append(f"{overlaps} pairs of passes overlapped")
    if new_deadlocks:
        problems.append(f"{new_deadlocks} deadlocks")
    return Outcome(f"beat x{beats}, reconcilers on {reconcilers} processes", verdict, expected_goals=anomalies,
                   extra_problems=problems, figures={
                       "goals never sent": never_sent, "scheduled passes": passes,
                       "passes skipped (another one ran)": skipped,
                       "sends beyond one per goal": sent_twice, "overlapping passes": overlaps,
                       "deadlocks": new_deadlocks, "all sent after s": round(all_sent, 1), "client exit": code})
