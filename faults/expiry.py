"""Results that expired: Celery's answer for every task becomes ``PENDING`` once django-celery-results'
cleanup has deleted its row, while the goal rows keep the truth and the reconciler repairs stale goals
from them alone."""

from __future__ import annotations

import time
from datetime import timedelta

from celery.result import AsyncResult
from django_celery_results.models import TaskResult

from faults.checks import verify
from faults.common import Outcome, count_goals, new_run, running, submit, wait_all_final, wait_until
from faults.processes import Stage, Worker, reconciler
from goals.models import Goal, ReconciliationFinding


def expired_results(stage: Stage, *, n: int, expiry: float, timeout: float = 300) -> Outcome:
    """``n`` goals succeed; two more are left running by a worker SIGKILLed mid-run; every result row is
    then older than ``expiry`` and deleted by the cleanup. The reconciler sends the stale goals again
    from what their rows say (a silent heartbeat) and leaves the succeeded ones alone."""
    run = new_run("expired-results")
    first = Worker(stage, f"expired-results-a-{run}")
    with running(first):
        submit(stage, run, n)
        wait_all_final(run, n, timeout=timeout)
        submit(stage, run, 2, "--first", str(n), "--first-attempt-only", seconds=3600.0, name="client-stale")
        wait_until(lambda: Goal.objects.filter(params__run=run, state="running").count() == 2, timeout=60)
        first.kill()
    stale = list(Goal.objects.filter(params__run=run, state="running").values_list("id", flat=True))
    task_ids = list(Goal.objects.filter(params__run=run).values_list("task_id", flat=True))
    rows_before = TaskResult.objects.filter(task_id__in=task_ids).count()
    time.sleep(expiry)
    # What celery.backend_cleanup (scheduled daily by beat) runs, with the scenario's expiry.
    TaskResult.objects.delete_expired(timedelta(seconds=expiry))
    rows_after = TaskResult.objects.filter(task_id__in=task_ids).count()
    pending = sum(AsyncResult(task_id).state == "PENDING" for task_id in task_ids)
    with running(Worker(stage, f"expired-results-b-{run}"), reconciler(stage)):
        clock = time.monotonic()
        wait_all_final(run, n + 2, timeout=timeout)
        repaired = time.monotonic() - clock
    verdict = verify(run)
    succeeded_first = Goal.objects.filter(params__run=run).exclude(id__in=stale).values("id")
    touched = ReconciliationFinding.objects.filter(goal_id__in=succeeded_first).count()
    problems = []
    if len(stale) != 2:
        problems.append(f"{len(stale)} goals left running by the killed worker, 2 expected")
    if rows_after:
        problems.append(f"{rows_after} result rows survived the cleanup")
    if verdict.failed:
        problems.append(f"{verdict.failed} goals failed")
    if touched:
        problems.append(f"the reconciler reported {touched} findings on goals that had succeeded")
    return Outcome("expired results", verdict, expected_goals=n + 2, extra_problems=problems, figures={
        "goals": n + 2, "result rows before cleanup": rows_before, "after": rows_after,
        "AsyncResult says PENDING": pending, "succeeded (goal rows)": count_goals(run, final=True) - verdict.failed,
        "stale goals repaired": len(stale), "repaired after s": round(repaired, 1), "failed": verdict.failed,
        "findings on succeeded goals": touched})
