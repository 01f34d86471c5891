"""The scenarios: each starts real processes on a ``Stage``, injects its fault, waits for every goal to
end, and returns its figures with the ``Verdict`` of ``faults.checks.verify``.

A scenario takes its sizes as keyword arguments; ``SCENARIOS`` gives the full sizes (``make faults``)
and the short ones (``tests/faults/test_faults.py``). Nothing here weakens a check to make a scenario pass:
a problem the verdict reports is a bug in goaltrack.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection

from faults.checks import verify
from faults.common import (
    FINAL_VALUES,
    Outcome,
    count_goals,
    ignored_count,
    new_run,
    running,
    sent_again,
    submit,
    wait_all_final,
    wait_until,
)
from faults.concurrency import beat_storm
from faults.deferred import deferred_kill
from faults.events import events_outage
from faults.expiry import expired_results
from faults.families import families
from faults.limits import limits_database_down, limits_kill
from faults.load import load
from faults.outages import broker_down_at_submit, broker_restart, database_down
from faults.poison import poison_input
from faults.processes import Stage, Worker, client, reconciler
from faults.schedules import schedule_catch_up
from faults.stateful import late_callbacks
from goals.models import EventType, Goal


def child_sigkill(stage: Stage, *, n: int, kill_every: float, seconds: float = 0.05, timeout: float = 600) -> Outcome:
    """A random pool child SIGKILLed every ``kill_every`` seconds while ``n`` goals run."""
    run, rng, kills = new_run("child-sigkill"), random.Random(6), []
    worker = Worker(stage, f"child-sigkill-{run}")
    next_kill = [time.monotonic() + kill_every]

    def kill_on_time() -> None:
        if time.monotonic() >= next_kill[0]:
            next_kill[0] += kill_every
            victim = worker.kill_child(rng)
            if victim:
                kills.append(victim)

    with running(worker, reconciler(stage)):
        clock = time.monotonic()
        feeder = client(stage, "client", "--run", run, "--n", str(n), "--seconds", str(seconds)).start()
        wait_until(lambda: not feeder.alive(), timeout=timeout, during=kill_on_time)
        wait_all_final(run, n, timeout=timeout, during=kill_on_time)
        drained = time.monotonic() - clock
    verdict = verify(run)
    return Outcome("worker child SIGKILL", verdict, expected_goals=n, figures={
        "goals": n, "children killed": len(kills), "goals sent again": sent_again(run),
        "executions": verdict.runs, "failed (attempts used up)": verdict.failed, "drain s": round(drained, 1)})


def running_goals(run: str) -> dict[str, int]:
    return dict(Goal.objects.filter(params__run=run, state="running").values_list("id", "attempt"))


def worker_sigkill(stage: Stage, *, n: int, seconds: float = 1.0, timeout: float = 300) -> Outcome:
    """The whole worker (main process and pool) SIGKILLed with goals running, then started again: the
    orphans are found by the reconciler (stale heartbeat) and sent again."""
    run = new_run("worker-sigkill")
    first, second = Worker(stage, f"worker-sigkill-a-{run}"), Worker(stage, f"worker-sigkill-b-{run}")
    period = float(stage.timings["FAULTS_RECONCILE_EVERY"])
    heartbeat = float(stage.timings["FAULTS_HEARTBEAT_TIMEOUT"])
    with running(first, reconciler(stage)):
        code, _ = submit(stage, run, n, seconds=seconds)
        wait_until(lambda: len(running_goals(run)) >= 2, timeout=60)
        orphans = running_goals(run)
        first.kill()
        killed_at = time.monotonic()
        with running(second):
            def orphans_moved() -> bool:
                moved = Goal.objects.filter(id__in=orphans).values_list("id", "attempt", "state")
                return all(attempt > orphans[goal_id] or state in FINAL_VALUES for goal_id, attempt, state in moved)

            wait_until(orphans_moved, timeout=timeout, every=0.1)
            detected = time.monotonic() - killed_at
            wait_all_final(run, n, timeout=timeout)
    verdict = verify(run)
    bound = heartbeat + period
    problems = [] if orphans else ["no goal was running when the worker was killed"]
    if detected > bound + 1.0:  # a pass takes up to a second of its own on a busy machine
        problems.append(f"orphans sent again after {detected:.1f} s, beyond heartbeat timeout + one period"
                        f" ({bound:.0f} s)")
    return Outcome("whole worker SIGKILL + restart", verdict, expected_goals=n, extra_problems=problems, figures={
        "goals": n, "orphans": len(orphans), "orphans sent again after s": round(detected, 1),
        "bound s": bound, "client exit": code})


def crash_before_publish(stage: Stage, *, n: int, die_at: int, timeout: float = 300) -> Outcome:
    """The submitting process SIGKILLed right after commit, before it published: the goals it committed
    but never sent are sent by the reconciler once their pending grace has passed."""
    run = new_run("crash-before-publish")
    period = float(stage.timings["FAULTS_RECONCILE_EVERY"])
    grace = float(stage.timings["FAULTS_PENDING_GRACE"])
    with running(Worker(stage, f"crash-before-publish-{run}"), reconciler(stage)):
        code, _ = submit(stage, run, n, "--die-before-publish", str(die_at))
        died_at = time.monotonic()
        committed = count_goals(run)
        unsent = Goal.objects.filter(params__run=run, state="pending", queued_at__isnull=True).count()
        wait_until(lambda: not Goal.objects.filter(params__run=run, state="pending").exists(), timeout=timeout,
                   every=0.1)
        all_sent = time.monotonic() - died_at
        wait_all_final(run, committed, timeout=timeout)
    verdict = verify(run)
    bound = grace + 2 * period
    problems = [] if code == -9 and unsent else [f"the client did not die with goals unsent (exit {code}, "
                                                 f"{unsent} unsent)"]
    if all_sent > bound + 1.0:
        problems.append(f"unsent goals sent after {all_sent:.1f} s, beyond pending grace + two periods ({bound:.0f} s)")
    return Outcome("crash between commit and publish", verdict, expected_goals=committed, extra_problems=problems,
                   figures={"goals committed": committed, "unsent at death": unsent,
                            "all sent after s": round(all_sent, 1), "bound s": bound})


def duplicate_delivery(stage: Stage, *, n: int, timeout: float = 300) -> Outcome:
    """Each goal's task published two or three times: one run and one terminal transition per goal, every
    other delivery journaled as ignored."""
    run = new_run("duplicate-delivery")
    with running(Worker(stage, f"duplicate-delivery-{run}")):
        # The copies are published by a client too (same task id, same attempt), interleaved with the
        # originals while the worker consumes them.
        code, _ = submit(stage, run, n, "--copies")
        wait_all_final(run, n, timeout=timeout)
        # Copies still queued behind the last originals are consumed (and ignored) before the count.
        wait_until(lambda: ignored_count(run) >= copies_published(stage, run) - n, timeout=60)
    verdict = verify(run)
    copies, ignored = copies_published(stage, run), ignored_count(run)
    finals = final_transition_counts(run)
    problems = []
    if finals != {1: n}:
        problems.append(f"terminal transitions per goal: {finals}, expected exactly one each")
    if ignored != copies - n:
        problems.append(f"{ignored} deliveries journaled as ignored, {copies - n} expected")
    if verdict.runs != n:
        problems.append(f"{verdict.runs} executions for {n} goals")
    return Outcome("duplicate delivery", verdict, expected_goals=n, extra_problems=problems, figures={
        "goals": n, "deliveries": copies, "runs": verdict.runs, "ignored": ignored, "client exit": code})


def copies_published(stage: Stage, run: str) -> int:
    log = stage.folder / "client.log"
    lines = [line for line in log.read_text().splitlines() if line.startswith(f"published {run} ")]
    return int(lines[-1].split()[-1]) if lines else 0


def final_transition_counts(run: str) -> dict[int, int]:
    """How many goals had how many transitions into a final state."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT finals, count(*) FROM (SELECT g.id, count(e.id) AS finals FROM goals_goal g "
            "LEFT JOIN goals_goalevent e ON e.goal_id = g.id AND e.event = %s AND e.to_state = ANY(%s) "
            "WHERE g.params->>'run' = %s GROUP BY g.id) per_goal GROUP BY finals",
            [EventType.TRANSITION.value, FINAL_VALUES, run])
        return dict(cursor.fetchall())


@dataclass(frozen=True)
class Scenario:
    run: Callable[..., Outcome]
    full: dict[str, Any]
    short: dict[str, Any]


SCENARIOS: dict[str, Scenario] = {
    "child-sigkill": Scenario(child_sigkill, full={"n": 2000, "kill_every": 2.0},
                              short={"n": 60, "kill_every": 0.7, "timeout": 120}),
    "worker-sigkill": Scenario(worker_sigkill, full={"n": 200}, short={"n": 8, "timeout": 120}),
    "crash-before-publish": Scenario(crash_before_publish, full={"n": 500, "die_at": 200},
                                     short={"n": 40, "die_at": 10, "timeout": 120}),
    "duplicate-delivery": Scenario(duplicate_delivery, full={"n": 1000}, short={"n": 30, "timeout": 120}),
    "broker-down-at-submit": Scenario(broker_down_at_submit, full={"n": 500, "down_for": 60.0},
                                      short={"n": 40, "down_for": 5.0, "timeout": 120}),
    "rabbitmq-down-at-submit": Scenario(broker_down_at_submit, full={"n": 500, "down_for": 60.0, "broker": "rabbitmq"},
                                        short={"n": 40, "down_for": 5.0, "broker": "rabbitmq", "timeout": 120}),
    "broker-restart": Scenario(broker_restart, full={"n": 300}, short={"n": 30, "timeout": 120}),
    "database-down": Scenario(database_down, full={"n": 500, "down_for": 30.0},
                              short={"n": 40, "down_for": 5.0, "timeout": 120}),
    "poison-input": Scenario(poison_input, full={"messages": 100, "crashing": 50, "hanging": 4},
                             short={"messages": 6, "crashing": 3, "hanging": 2, "timeout": 120}),
    "beat-storm": Scenario(beat_storm, full={"anomalies": 10_000}, short={"anomalies": 100, "timeout": 120}),
    "deferred-kill": Scenario(deferred_kill, full={"n": 10_000, "delay": 120.0},
                              short={"n": 40, "delay": 15.0, "timeout": 120}),
    "schedule-catch-up": Scenario(schedule_catch_up, full={"every": 2.0, "missed": 10},
                                  short={"every": 1.0, "missed": 5, "after": 3, "timeout": 120}),
    "events-outage": Scenario(events_outage, full={"n": 1000, "wait_for": 60.0, "down_for": 10.0},
                              short={"n": 40, "wait_for": 20.0, "down_for": 3.0, "timeout": 120}),
    "expired-results": Scenario(expired_results, full={"n": 500, "expiry": 60.0},
                                short={"n": 20, "expiry": 2.0, "timeout": 120}),
    "late-callbacks": Scenario(late_callbacks, full={"examples": 10_000}, short={"examples": 150}),
    "families": Scenario(families, full={"parents": 100, "children": 100, "kill_every": 2.0},
                         short={"parents": 4, "children": 5, "kill_every": 0.7, "seconds": 0.3, "timeout": 180}),
    "limits-kill": Scenario(limits_kill, full={"n": 1000, "tenants": 10, "kill_every": 2.0},
                            short={"n": 40, "tenants": 3, "kill_every": 1.0, "timeout": 180}),
    "limits-database-down": Scenario(limits_database_down, full={"n": 300, "tenants": 2, "down_for": 10.0},
                                     short={"n": 30, "tenants": 1, "down_for": 3.0, "timeout": 180}),
    "load": Scenario(load, full={"clients": 50, "seconds": 120.0},
                     short={"clients": 8, "seconds": 8.0, "timeout": 120}),
}
