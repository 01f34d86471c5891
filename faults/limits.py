"""Concurrency limits under faults: worker processes SIGKILLed while they hold slots, two reconcilers and the
redelivered messages racing to free the same slot, and PostgreSQL cut while slots are held. The limit must
hold at every instant (proven from the attempts' start and end times), every slot be freed exactly once, and
no goal be lost or run twice."""

from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import datetime

from django.utils import timezone

from faults.checks import verify
from faults.common import Outcome, new_run, running, submit, wait_all_final, wait_until
from faults.executors import LIMITED_PER_TENANT
from faults.overlap import most_at_once
from faults.processes import Stage, Worker, reconciler
from faults.proxy import CuttableProxy
from goals.models import Attempt, AttemptOutcome, ConcurrencySlots, Goal

KIND = "faults.limited"


def most_by_tenant(run: str) -> dict[str, int]:
    """Per tenant, the most attempts that held a slot at one instant (one not closed yet: until now)."""
    by_tenant: dict[str, list[tuple[datetime, datetime]]] = {}
    for tenant, started, finished in Attempt.objects.filter(
            goal__params__run=run, started_at__isnull=False).values_list("goal__limit_key", "started_at",
                                                                          "finished_at"):
        by_tenant.setdefault(tenant, []).append((started, finished or timezone.now()))
    return {tenant: most_at_once(intervals) for tenant, intervals in by_tenant.items()}


def limit_problems(run: str) -> tuple[int, list[str]]:
    """The most attempts of one tenant at one instant, and the problem if that is over the limit."""
    most = most_by_tenant(run)
    over = {tenant: count for tenant, count in most.items() if count > LIMITED_PER_TENANT}
    return max(most.values(), default=0), [f"over the limit of {LIMITED_PER_TENANT} at some instant: {over}"] \
        if over else []


def slot_counts(run: str) -> list[tuple[str, int, int]]:
    """The run's tenants' counts of slots taken and goals held, as the database keeps them."""
    tenants = set(Goal.objects.filter(params__run=run).values_list("limit_key", flat=True))
    return list(ConcurrencySlots.objects.filter(kind=KIND, key__in=tenants).values_list("key", "running", "held"))


def limits_kill(stage: Stage, *, n: int, tenants: int, kill_every: float, seconds: float = 0.3,
                timeout: float = 600) -> Outcome:
    """``n`` goals over ``tenants`` tenants, two at once per tenant, on two workers (two processes each) with
    two reconcilers; a random pool child SIGKILLed every ``kill_every`` seconds. The redelivered message of a
    killed attempt and both reconcilers' stalled repairs race to free its slot."""
    run, rng = new_run("limits-kill"), random.Random(26)
    workers = [Worker(stage, f"limits-kill-{side}-{run}") for side in "ab"]
    period = float(stage.timings["FAULTS_RECONCILE_EVERY"])
    heartbeat = float(stage.timings["FAULTS_HEARTBEAT_TIMEOUT"])
    kills: list[datetime] = []
    negative: list[tuple[str, int, int]] = []
    next_kill = [time.monotonic() + kill_every]

    def kill_and_watch() -> None:
        negative.extend(row for row in slot_counts(run) if row[1] < 0 or row[2] < 0)
        if time.monotonic() >= next_kill[0]:
            next_kill[0] += kill_every
            if rng.choice(workers).kill_child(rng):
                kills.append(timezone.now())

    with running(*workers, reconciler(stage, "reconciler-a"), reconciler(stage, "reconciler-b")):
        clock = time.monotonic()
        code, _ = submit(stage, run, n, "--kind", KIND, "--tenants", str(tenants), seconds=seconds, timeout=timeout)
        wait_all_final(run, n, timeout=timeout, during=kill_and_watch)
        drained = time.monotonic() - clock
    verdict = verify(run)
    lost = list(Attempt.objects.filter(goal__params__run=run, outcome=AttemptOutcome.WORKER_LOST)
                .values_list("finished_at", flat=True))
    # How long each slot a killed process held stayed taken: from the kill to the move that freed it.
    held_for = [(freed - max(kill for kill in kills if kill <= freed)).total_seconds()
                for freed in lost if any(kill <= freed for kill in kills)]
    bound = heartbeat + period + 1.5  # a pass takes up to a second of its own on a busy machine
    problems = [f"the client exited with {code}"] if code else []
    if not kills:
        problems.append("no pool child was killed")
    most, over = limit_problems(run)
    problems += over
    if negative:
        problems.append(f"a count went below zero (a slot freed twice): {negative[:3]}")
    if left := [row for row in slot_counts(run) if row[1:] != (0, 0)]:
        problems.append(f"slots still counted once every goal ended: {left}")
    if held_for and max(held_for) > bound:
        problems.append(f"a dead attempt's slot stayed taken {max(held_for):.1f} s, beyond heartbeat timeout + "
                        f"one period ({bound:.1f} s)")
    return Outcome("limits: workers SIGKILLed holding slots", verdict, expected_goals=n, extra_problems=problems,
                   figures={"goals": n, "tenants": tenants, "children killed": len(kills),
                            "attempts lost with a slot": len(lost),
                            "slot held after a kill, max s": round(max(held_for, default=0.0), 1),
                            "bound s": bound, "most at once per tenant": most,
                            "executions": verdict.runs, "drain s": round(drained, 1)})


def limits_database_down(stage: Stage, *, n: int, tenants: int, down_for: float, seconds: float = 0.3,
                         timeout: float = 300) -> Outcome:
    """PostgreSQL cut for ``down_for`` seconds from two workers (two processes each, more than a tenant's
    limit), the reconciler and the client while goals hold slots: after it returns, the limit still holds,
    and every slot is given back."""
    run = new_run("limits-database-down")
    proxy = CuttableProxy(stage.database_url).start()
    via_proxy = replace(stage, database_url=proxy.url)
    workers = [Worker(via_proxy, f"limits-database-down-{side}-{run}") for side in "ab"]
    loop = reconciler(via_proxy)
    try:
        with running(*workers, loop):
            code, _ = submit(via_proxy, run, n, "--kind", KIND, "--tenants", str(tenants), seconds=seconds,
                             timeout=timeout)
            wait_until(lambda: Goal.objects.filter(params__run=run, state="running").count() >= 2, timeout=120)
            held_at_cut = sum(taken for _, taken, _ in slot_counts(run))
            proxy.cut()
            time.sleep(down_for)
            proxy.restore()
            back_at = time.monotonic()
            wait_all_final(run, n, timeout=timeout)
            drained = time.monotonic() - back_at
            survived = all(process.alive() for process in (*workers, loop))
    finally:
        proxy.close()
    verdict = verify(run)
    problems = [f"the client exited with {code}"] if code else []
    if not survived:
        problems.append("a worker or the reconciler did not survive the outage")
    if not held_at_cut:
        problems.append("no slot was held when the database was cut")
    most, over = limit_problems(run)
    problems += over
    if left := [row for row in slot_counts(run) if row[1:] != (0, 0)]:
        problems.append(f"slots still counted once every goal ended: {left}")
    return Outcome("limits: database cut while slots are held", verdict, expected_goals=n,
                   extra_problems=problems, figures={"goals": n, "tenants": tenants, "slots held at the cut":
                                                     held_at_cut, "database down s": down_for,
                                                     "all final after s": round(drained, 1),
                                                     "most at once per tenant": most,
                                                     "executions": verdict.runs})
