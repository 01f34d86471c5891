"""``families``: parents of many children each, under the worker-child SIGKILL and duplicate-delivery
faults at once, with the reconciler's passes racing the fan-ins.

What must hold, beyond ``faults.checks.verify`` (which counts every parent and child of the run): each
parent fanned in exactly once (its ``fan_in`` journal rows), has all its children and every one of them
final, and ended as its children say under its policy (fail fast: succeeded exactly when every child
succeeded). A parent's continuation makes its effect once, so a second fan-in would also show as a
double effect.
"""

from __future__ import annotations

import random
import time

from django.db import connection

from faults.checks import verify
from faults.common import Outcome, count_goals, new_run, running, sent_again, wait_until
from faults.processes import Stage, Worker, client, reconciler
from goals.lifecycle.states import GoalState
from goals.models import Goal, GoalEvent
from goals.submitting.publish import Dispatch, _publish


def _copy_some(run: str, rng: random.Random) -> int:
    """Publish one more copy of the current attempt of some of the run's active goals, as a broker that
    delivers twice would; returns how many."""
    from celery import current_app

    active = list(Goal.objects.filter(params__run=run, finished_at__isnull=True,
                                      state__in=[GoalState.QUEUED, GoalState.RUNNING])
                  .values_list("id", "attempt", "task_id", "kind")[:200])
    chosen = rng.sample(active, min(len(active), 20))
    with current_app.producer_or_acquire() as producer:
        for goal_id, attempt, task_id, kind in chosen:
            _publish(Dispatch(goal_id=goal_id, attempt=attempt, task_id=task_id, kind=kind), producer=producer)
    return len(chosen)


def _family_problems(run: str, parents: int, children: int) -> tuple[list[str], dict[str, int]]:
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT p.id, p.state,
                   (SELECT count(*) FROM goals_goalevent e WHERE e.goal_id = p.id AND e.transition = 'fan_in'),
                   count(c.id), count(c.id) FILTER (WHERE c.finished_at IS NOT NULL),
                   count(c.id) FILTER (WHERE c.state = 'succeeded')
              FROM goals_goal p LEFT JOIN goals_goal c ON c.parent_id = p.id
             WHERE p.params->>'run' = %s AND p.kind = 'faults.family'
             GROUP BY p.id, p.state""", [run])
        rows = cursor.fetchall()
    twice = sum(1 for _, _, fan_ins, *_ in rows if fan_ins > 1)
    never = sum(1 for _, state, fan_ins, *_ in rows if fan_ins == 0 and state == GoalState.SUCCEEDED)
    missing = sum(children - total for *_, total, _, _ in rows)
    unfinished = sum(total - final for *_, total, final, _ in rows)
    disagree = sum(1 for _, state, _, total, _, succeeded in rows
                   if (state == GoalState.SUCCEEDED) != (succeeded == total == children))
    problems = []
    if len(rows) != parents:
        problems.append(f"{len(rows)} parents recorded, {parents} submitted")
    for count, what in ((twice, "parents fanned in twice"), (never, "parents succeeded without a fan-in"),
                        (missing, "children missing"), (unfinished, "children not final"),
                        (disagree, "parents whose state disagrees with their children (fail fast)")):
        if count:
            problems.append(f"{count} {what}")
    return problems, {"fanned in twice": twice, "children missing": missing, "disagreeing parents": disagree,
                      "parents succeeded": sum(1 for _, state, *_ in rows if state == GoalState.SUCCEEDED)}


def families(stage: Stage, *, parents: int, children: int, kill_every: float, seconds: float = 0.05,
             timeout: float = 900) -> Outcome:
    """``parents`` parents of ``children`` children each, pool children SIGKILLed every ``kill_every``
    seconds and copies of running or queued attempts published every second, the reconciler running."""
    run, rng, kills, copies = new_run("families"), random.Random(16), [], [0]
    worker = Worker(stage, f"families-{run}")
    next_kill, next_copy = [time.monotonic() + kill_every], [time.monotonic() + 1.0]
    expected = parents * (1 + children)

    def faults_on_time() -> None:
        now = time.monotonic()
        if now >= next_kill[0]:
            next_kill[0] += kill_every
            victim = worker.kill_child(rng)
            if victim:
                kills.append(victim)
        if now >= next_copy[0]:
            next_copy[0] += 1.0
            copies[0] += _copy_some(run, rng)

    with running(worker, reconciler(stage)):
        clock = time.monotonic()
        feeder = client(stage, "client", "--run", run, "--n", str(parents), "--kind", "faults.family",
                        "--children", str(children), "--seconds", str(seconds)).start()
        wait_until(lambda: not feeder.alive(), timeout=timeout, during=faults_on_time)
        wait_until(lambda: count_goals(run, final=True) >= expected, timeout=timeout, during=faults_on_time)
        drained = time.monotonic() - clock
    verdict = verify(run)
    problems, figures = _family_problems(run, parents, children)
    return Outcome("families under SIGKILL and duplicates", verdict, expected_goals=expected,
                   extra_problems=problems, figures={
                       "parents": parents, "children": parents * children, **figures,
                       "pool children killed": len(kills), "copies published": copies[0],
                       "goals sent again": sent_again(run), "ignored deliveries": GoalEvent.objects.filter(
                           goal__params__run=run, event="ignored").count(), "drain s": round(drained, 1)})
