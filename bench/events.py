"""Goals waiting for outside events: 10,000 goals, 12,000 sends racing their waits, each goal resumed once.

    make bench    # or: .venv/bin/python bench/events.py [--goals 10000] [--threads 8]

In a throwaway database ``goaltrack_bench``: ``--goals`` goals are submitted (their queue consumed by
nothing) and each one's first attempt is started and ended by a wait for ``payment.captured`` with the key
``order:<n>``, as a worker's would (``attempt_started`` then ``attempt_awaiting_event``, in this process).
One event per goal (``event_key`` ``delivery-<n>``) is sent with ``send_event``:

- 10% of them before their goal waits;
- the rest while the waits go on, from ``--threads`` threads at once, the waits from as many threads of
  their own, both in shuffled orders, so events and waits race;
- a fifth more sends (2,000) repeat an ``event_key`` already sent (a webhook delivered twice).

Then: goals resumed (``resume`` in the journal) exactly once, none twice, none left waiting; events
recorded, consumed, left over; the sends reported duplicate; and the statements one send runs (the advisory
lock, the record, and the resume that consumes the event and moves the goal in one statement).

DATABASE_URL names the server; CELERY_BROKER_URL the broker (default Redis on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import queue
import random
import threading
import time
from collections import Counter
from typing import Any

from stack import bench_database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goals", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    with bench_database():
        run(args.goals, args.threads)


def run(n: int, threads: int) -> None:
    from django.db import connection

    from goals.api import send_event, submit_many
    from goals.models import ExternalEvent, Goal, GoalEvent
    from goals.waits.events import WaitForEvent
    from goals.worker.callbacks import attempt_awaiting_event, attempt_started

    goals = submit_many("bench.parked", [{}] * n)
    duplicates = n // 5
    order = {goal.pk: i for i, goal in enumerate(goals)}
    early = set(random.sample(range(n), n // 10))
    sends: queue.Queue[tuple[int, bool]] = queue.Queue()
    late = [i for i in range(n) if i not in early]
    random.shuffle(late)
    repeats = random.sample(range(n), duplicates)
    statements: Counter[str] = Counter()
    errors: list[BaseException] = []
    reported = Counter()

    def send(i: int) -> None:
        sent = send_event("payment.captured", {"order": i}, key=f"order:{i}", event_key=f"delivery-{i}")
        reported["duplicate" if sent.duplicate else "new"] += 1

    for i in early:
        send(i)

    waits: queue.Queue = queue.Queue()
    ordered = list(goals)
    random.shuffle(ordered)
    for goal in ordered:
        waits.put(goal)

    def await_all() -> None:
        try:
            while True:
                try:
                    goal = waits.get_nowait()
                except queue.Empty:
                    return
                attempt_started(goal_id=str(goal.pk), attempt=1, task_id=goal.task_id, worker="bench",
                                redelivered=False)
                wait = WaitForEvent(name="payment.captured", key=f"order:{order[goal.pk]}", until=None, then="")
                attempt_awaiting_event(goal_id=str(goal.pk), attempt=1, task_id=goal.task_id, worker="bench",
                                       wait=wait, budget=1)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def counting(execute: Any, sql: str, params: Any, many: bool, context: dict) -> Any:
        statements[sql.split("\n")[0]] += 1
        return execute(sql, params, many, context)

    def sending() -> None:
        try:
            with connection.execute_wrapper(counting):
                while True:
                    try:
                        i, _repeat = sends.get_nowait()
                    except queue.Empty:
                        return
                    send(i)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    for i in late:
        sends.put((i, False))
    for i in repeats:
        sends.put((i, True))
    workers = ([threading.Thread(target=await_all) for _ in range(threads)]
               + [threading.Thread(target=sending) for _ in range(threads)])
    clock = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    seconds = time.perf_counter() - clock
    if errors:
        raise SystemExit(f"{len(errors)} errors, the first: {errors[0]!r}")
    resumes = Counter(GoalEvent.objects.filter(transition="resume").values_list("goal_id", flat=True))
    states = Counter(Goal.objects.values_list("state", flat=True))
    total_sends = n + duplicates
    print(f"{n:,} goals waiting for an event, {total_sends:,} sends ({duplicates:,} repeats, {len(early):,} "
          f"before the wait), {threads} threads sending and {threads} waiting: {seconds:.1f} s")
    print(f"  goals resumed once {sum(1 for c in resumes.values() if c == 1):,}, twice or more "
          f"{sum(1 for c in resumes.values() if c > 1):,}, never {n - len(resumes):,}; states {dict(states)}")
    consumed = ExternalEvent.objects.filter(consumed_at__isnull=False).count()
    print(f"  events recorded {ExternalEvent.objects.count():,}, consumed {consumed:,}, left over "
          f"{ExternalEvent.objects.filter(consumed_at__isnull=True).count():,}; sends reported duplicate "
          f"{reported['duplicate']:,}")
    per_send = {name: round(count / (len(late) + duplicates), 2) for name, count in statements.most_common()}
    print(f"  statements per concurrent send: {per_send}")


if __name__ == "__main__":
    main()
