"""``python -m faults.client``: submit a scenario's goals from a process of their own, as a web process
of the deployment would (``goals.api.submit``, one transaction each, sent after commit).

    python -m faults.client --run RUN --n 500 [--seconds 0.1] [--die-before-publish 100] [--copies]

``--die-before-publish K`` SIGKILLs this process when it is about to publish its K-th task: every goal
it committed after the previous publish is committed but never sent (Celery's ``before_task_publish``
signal, so goaltrack itself carries no test hook). ``--copies`` then publishes every goal's task once or
twice more (same task id, same attempt), as a broker or publisher that duplicates messages would, and
prints how many deliveries it made in all.
"""

from __future__ import annotations

import argparse
import os
import signal
from typing import Any

import django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--first", type=int, default=0, help="number of the first goal in the run")
    parser.add_argument("--kind", default="faults.effect",
                        choices=["faults.effect", "faults.crash", "faults.hang", "faults.family", "faults.limited"])
    parser.add_argument("--tenants", type=int, default=3, help="tenants the faults.limited goals spread over")
    parser.add_argument("--children", type=int, default=10, help="children of each faults.family goal")
    parser.add_argument("--seconds", type=float, default=0.0, help="how long each faults.effect goal works")
    parser.add_argument("--first-attempt-only", action="store_true", help="work only on the first attempt")
    parser.add_argument("--die-before-publish", type=int, default=0, metavar="K")
    parser.add_argument("--copies", action="store_true", help="publish each task 2 or 3 times in all")
    parser.add_argument("--run-after", default=None, help="an ISO time: every goal starts then, not before")
    args = parser.parse_args()
    django.setup()
    from celery.signals import before_task_publish

    import faults.executors  # noqa: F401
    from goals.api import submit
    from goals.submitting import sender

    if args.die_before_publish:
        published = 0

        def die(**kwargs: Any) -> None:
            nonlocal published
            published += 1
            if published == args.die_before_publish:
                print(f"dying before publish {published}", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)

        before_task_publish.connect(die, weak=False)
    from datetime import datetime

    run_after = datetime.fromisoformat(args.run_after) if args.run_after else None
    for i in range(args.first, args.first + args.n):
        params = {"run": args.run, "i": i}
        if args.kind == "faults.effect":
            params.update(seconds=args.seconds, first_attempt_only=args.first_attempt_only)
        elif args.kind == "faults.limited":
            params.update(seconds=args.seconds, tenant=f"tenant-{i % args.tenants}")
        elif args.kind == "faults.family":
            params.update(children=args.children, seconds=args.seconds)
        submit(args.kind, params, run_after=run_after)
    sender.stop()
    print(f"submitted {args.n}", flush=True)
    if args.copies:
        print(f"published {args.run} {args.n + publish_copies(args.run)}", flush=True)


def publish_copies(run: str) -> int:
    """Publish one or two more copies of each of the run's goals' current attempt; returns how many."""
    import random

    from celery import current_app

    from goals.models import Goal
    from goals.submitting.publish import Dispatch, _publish

    rng, copies = random.Random(7), 0
    goals = Goal.objects.filter(params__run=run).values_list("id", "attempt", "task_id", "kind")
    with current_app.producer_or_acquire() as producer:
        for goal_id, attempt, task_id, kind in goals:
            for _ in range(rng.choice((1, 2))):
                _publish(Dispatch(goal_id=goal_id, attempt=attempt, task_id=task_id, kind=kind), producer=producer)
                copies += 1
    return copies


if __name__ == "__main__":
    main()
