"""Goals waiting for events, and the events sent over HTTP out of order, twice, racing the deadline, and
while the database is away: every answer is a 2xx or a 503 (nothing half-written), a client that retries
records its event once, and every goal is resumed by its own event or timed out, exactly once."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from faults.checks import verify
from faults.common import FINAL_VALUES, Outcome, new_run, running, wait_all_final
from faults.http import api_key, call
from faults.processes import Stage, WebServer, Worker, beat, reconciler
from faults.proxy import CuttableProxy
from goals.models import EventType, ExternalEvent, Goal

EVENT = "faults.paid"
# Each goal's event: sent before the goal exists, while it waits, around its deadline, or never.
SHARES = {"early": 0.1, "racing": 0.1, "none": 0.1}
DUPLICATES = 0.2  # of the events sent, sent a second time (same event_key) by another client
RETRY_EVERY = 0.2


@dataclass(frozen=True)
class Send:
    at: float
    """Seconds after the sending starts."""
    i: int
    copy: int


@dataclass
class Answers:
    """Every HTTP answer the event clients got, and per send the status that ended its retries."""

    statuses: Counter
    final: dict[tuple[int, int], int]
    retried: int = 0


def plan(n: int, rng: random.Random) -> dict[int, str]:
    """Each goal's share (``SHARES``, the rest ``waiting``)."""
    numbers = list(range(n))
    rng.shuffle(numbers)
    shares, start = {}, 0
    for share, fraction in SHARES.items():
        count = max(1, round(n * fraction))
        shares.update(dict.fromkeys(numbers[start:start + count], share))
        start += count
    shares.update(dict.fromkeys(numbers[start:], "waiting"))
    return shares


def event_body(run: str, i: int) -> dict:
    return {"name": EVENT, "key": f"order:{run}-{i}", "event_key": f"{run}-{i}", "payload": {"amount": i}}


def deliver(url: str, key: str, run: str, send: Send, answers: Answers, lock: threading.Lock,
            give_up: float) -> None:
    """POST one event until an answer that is not a 503 or no answer at all (a retry: the same body)."""
    tries = 0
    while True:
        answer = call(f"{url}/api/events/", key, method="POST", body=event_body(run, send.i))
        tries += 1
        with lock:
            answers.statuses[answer.status] += 1
        if answer.status not in (0, 503) or time.monotonic() > give_up:
            break
        time.sleep(RETRY_EVERY)
    with lock:
        answers.final[(send.i, send.copy)] = answer.status
        answers.retried += tries > 1


def send_all(url: str, key: str, run: str, sends: list[Send], *, threads: int = 8,
             during: tuple[tuple[float, Callable[[], None]], ...] = ()) -> Answers:
    """Send every event at its time from ``threads`` clients; ``during``: (seconds, action) to run then."""
    answers, lock = Answers(Counter(), {}), threading.Lock()
    queue = iter(sorted(sends, key=lambda send: send.at))
    started = time.monotonic()
    give_up = started + max(send.at for send in sends) + 120

    def client() -> None:
        while True:
            with lock:
                send = next(queue, None)
            if send is None:
                return
            time.sleep(max(0.0, started + send.at - time.monotonic()))
            deliver(url, key, run, send, answers, lock, give_up)

    def actions() -> None:
        for at, action in during:
            time.sleep(max(0.0, started + at - time.monotonic()))
            action()

    workers = [threading.Thread(target=client) for _ in range(threads)] + [threading.Thread(target=actions)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return answers


def submit_waiting(url: str, key: str, run: str, n: int, until: datetime) -> list[int]:
    """The goals, over HTTP in bulk (the token's user owns them, as its events' goals must be); statuses."""
    statuses = []
    for first in range(0, n, 500):
        items = [{"params": {"run": run, "i": i, "order": f"{run}-{i}", "until": until.isoformat()},
                  "idempotency_key": f"{run}-{i}"} for i in range(first, min(n, first + 500))]
        statuses.append(call(f"{url}/api/goals/bulk", key, method="POST", timeout=120,
                             body={"kind": "faults.await_paid", "items": items}).status)
    return statuses


def how_each_ended(run: str) -> dict[int, tuple[int, int]]:
    """Goal number -> (resumes, timeouts) applied to it, from its journal."""
    rows = (Goal.objects.filter(params__run=run)
            .annotate(resumes=Count("events", filter=Q(events__event=EventType.TRANSITION,
                                                      events__transition="resume")),
                      timeouts=Count("events", filter=Q(events__event=EventType.TRANSITION,
                                                       events__transition="time_out")))
            .values_list("params__i", "resumes", "timeouts"))
    return {int(i): (resumes, timeouts) for i, resumes, timeouts in rows}


def events_outage(stage: Stage, *, n: int, wait_for: float, down_for: float, timeout: float = 300) -> Outcome:
    """``n`` goals wait for their ``faults.paid`` event until ``wait_for`` seconds after their submit. The
    events go over HTTP (gunicorn) from 8 clients: a tenth before their goal exists, a tenth around its
    deadline, a tenth never, the rest while it waits, spread over half the wait; a fifth of them twice.
    The database (through a proxy, for every process) is away for ``down_for`` seconds while they arrive."""
    run, rng = new_run("events"), random.Random(25)
    shares = plan(n, rng)
    proxy = CuttableProxy(stage.database_url).start()
    via_proxy = replace(stage, database_url=proxy.url)
    queues = f"{stage.queue},{stage.queue}-default"
    web = WebServer(via_proxy)
    try:
        with running(web, Worker(via_proxy, f"events-{run}", queues=queues), beat(via_proxy, f"events-beat-{run}"),
                     reconciler(via_proxy)):
            key = api_key(run)
            early = [Send(0.0, i, 0) for i, share in shares.items() if share == "early"]
            early_answers = send_all(web.url, key, run, early)
            until = timezone.now() + timedelta(seconds=wait_for)
            submitted = submit_waiting(web.url, key, run, n, until)
            to_deadline = (until - timezone.now()).total_seconds()
            spread = wait_for / 2
            sends = [Send(rng.uniform(0, spread), i, 0) for i, share in shares.items() if share == "waiting"]
            sends += [Send(to_deadline + rng.uniform(-0.3, 0.3), i, 0) for i, share in shares.items()
                      if share == "racing"]
            sends += [Send(send.at + rng.uniform(0, 2.0), send.i, 1) for send in rng.sample(
                [*sends, *early], round(DUPLICATES * (len(sends) + len(early))))]
            cut_at = spread * 0.3
            answers = send_all(web.url, key, run, sends, during=((cut_at, proxy.cut),
                                                                (cut_at + down_for, proxy.restore)))
            wait_all_final(run, n, timeout=timeout)
    finally:
        proxy.close()
    verdict = verify(run)
    ended = how_each_ended(run)
    events = {int(row["event_key"].rsplit("-", 1)[1]): row for row in ExternalEvent.objects.filter(
        name=EVENT, correlation_key__startswith=f"order:{run}-").values("event_key", "received_at", "consumed_by")}
    rows_per_key = Counter(ExternalEvent.objects.filter(name=EVENT, event_key__startswith=f"{run}-")
                           .values_list("event_key", flat=True))
    goal_ids = dict(Goal.objects.filter(params__run=run).values_list("params__i", "id"))
    problems = []
    if any(status != 202 for status in submitted):
        problems.append(f"bulk submits answered {submitted}")
    statuses = early_answers.statuses + answers.statuses
    unexpected = {status: count for status, count in statuses.items() if status not in (0, 200, 202, 503)}
    if unexpected:
        problems.append(f"event answers other than 2xx or 503: {unexpected}")
    unsettled = [send for send, status in {**early_answers.final, **answers.final}.items() if status not in (200, 202)]
    if unsettled:
        problems.append(f"{len(unsettled)} events never recorded despite retries")
    sent = {i for i, share in shares.items() if share != "none"}
    if set(events) != sent or any(count != 1 for count in rows_per_key.values()):
        problems.append(f"{len(events)} events recorded for {len(sent)} sent, "
                        f"{sum(1 for c in rows_per_key.values() if c > 1)} recorded twice")
    not_once = [i for i, (resumes, timeouts) in ended.items() if resumes + timeouts != 1]
    if not_once:
        problems.append(f"{len(not_once)} goals not resumed or timed out exactly once")
    wrong = []
    for i, share in shares.items():
        resumed = ended.get(i, (0, 0))[0] == 1
        event = events.get(i)
        consumed_by_it = event is not None and event["consumed_by"] == goal_ids.get(i)
        if event is not None and event["consumed_by"] not in (None, goal_ids.get(i)):
            wrong.append(i)  # taken by another goal
        elif resumed != consumed_by_it:
            wrong.append(i)  # resumed without its event, or its event consumed without the resume
        elif share != "racing" and resumed != (share != "none"):
            wrong.append(i)  # an event long before the deadline must resume it; none, time it out
    if wrong:
        problems.append(f"{len(wrong)} goals resumed or timed out against their event, e.g. number {wrong[0]}")
    racing = [i for i, share in shares.items() if share == "racing"]
    return Outcome("events over HTTP, the database away", verdict, expected_goals=n, extra_problems=problems,
                   figures={
                       "goals": n, "events": len(sent), "sends": len(early) + len(sends),
                       "database down s": down_for, "answers": dict(sorted(statuses.items())),
                       "sends retried": early_answers.retried + answers.retried,
                       "duplicates answered 200": sum(1 for status in answers.final.values() if status == 200),
                       "racing: resumed / timed out": f"{sum(ended[i][0] for i in racing)} / "
                                                      f"{sum(ended[i][1] for i in racing)}",
                       "timed out": sum(timeouts for _, timeouts in ended.values()),
                       "final": Goal.objects.filter(params__run=run, state__in=FINAL_VALUES).count(),
                       "503 answers": statuses[503]})
