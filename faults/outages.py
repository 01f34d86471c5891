"""Scenarios that take a service away. The broker: a Redis server of the scenario's own (persisting as the
production compose file's does), stopped while goals are submitted over HTTP, or killed and restarted
with tasks in flight. The database: reached through a proxy the scenario cuts (``faults.proxy``). The
deployment's own servers are never touched."""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time
from dataclasses import replace
from urllib.parse import urlsplit

from kombu import Connection

from faults.checks import verify
from faults.common import (
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
from faults.http import api_key, submit_goal
from faults.processes import RedisServer, Stage, WebServer, Worker, client, reconciler
from faults.proxy import CuttableProxy
from goals.models import EventType, Goal, GoalEvent


def post_goals(url: str, key: str, run: str, n: int, *, spread: float, threads: int = 4) -> list[tuple[float, int]]:
    """POST ``n`` goals evenly over ``spread`` seconds from ``threads`` clients; (seconds, status) of each."""
    results: list[tuple[float, int]] = []
    lock, started = threading.Lock(), time.monotonic()
    numbers = iter(range(n))

    def client_thread() -> None:
        while True:
            with lock:
                i = next(numbers, None)
            if i is None:
                return
            time.sleep(max(0.0, started + i * spread / n - time.monotonic()))
            answer = submit_goal(url, key, run, i)
            with lock:
                results.append((answer.seconds, answer.status))

    workers = [threading.Thread(target=client_thread) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else values[0]


def rabbitmq_url() -> str:
    return os.environ.get("FAULTS_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def rabbitmq_reachable() -> bool:
    url = urlsplit(rabbitmq_url())
    try:
        socket.create_connection((url.hostname, url.port or 5672), timeout=1).close()
    except OSError:
        return False
    return True


class _RabbitMQ:
    """The machine's RabbitMQ behind a proxy the scenario cuts: stopped, as far as its clients can tell."""

    def __init__(self) -> None:
        self.proxy = CuttableProxy(rabbitmq_url()).start()
        self.url = self.proxy.url

    def stop(self) -> None:
        self.proxy.cut()

    def start(self) -> None:
        self.proxy.restore()

    def close(self, queues: list[str]) -> None:
        self.proxy.close()
        with Connection(rabbitmq_url()) as conn:  # the run's queues, empty by now, are not left behind
            for queue in queues:
                conn.default_channel.queue_delete(queue)


def broker_down_at_submit(stage: Stage, *, n: int, down_for: float, broker: str = "redis",
                          timeout: float = 300) -> Outcome:
    """The broker (``redis``: a server of the scenario's own; ``rabbitmq``: the machine's, behind a proxy)
    stopped for ``down_for`` seconds while ``n`` goals are submitted over HTTP (gunicorn): submits answer
    at once, every goal is recorded, and all are sent and end once the broker is back."""
    run = new_run(f"{broker}-down")
    server = _RabbitMQ() if broker == "rabbitmq" else RedisServer(stage.folder).start()
    on_broker = replace(stage, broker_url=server.url)
    web = WebServer(on_broker)
    try:
        with running(web, Worker(on_broker, f"broker-down-{run}"), reconciler(on_broker)):
            key = api_key(run)
            spread = down_for * 1.5 + 2
            results: list[tuple[float, int]] = []
            load = threading.Thread(target=lambda: results.extend(
                post_goals(web.url, key, run, n, spread=spread)))
            load.start()
            time.sleep(spread * 0.2)
            server.stop()
            time.sleep(down_for)
            server.start()
            load.join()
            back_at = time.monotonic()
            wait_all_final(run, n, timeout=timeout)
            drained = time.monotonic() - back_at
    finally:
        if isinstance(server, _RabbitMQ):
            server.close([stage.queue, f"{stage.queue}-default"])
        else:
            server.stop()
    verdict = verify(run)
    latencies = [seconds for seconds, _ in results]
    failed_publishes = GoalEvent.objects.filter(goal__params__run=run, event=EventType.PUBLISH_FAILED).count()
    problems = []
    errors = sum(1 for _, status in results if not 200 <= status < 300)
    if errors:
        problems.append(f"{errors} submits answered other than 2xx")
    if p99(latencies) > 1.0:
        problems.append(f"submit p99 {p99(latencies):.2f} s, over 1 s")
    label = f"{'RabbitMQ' if broker == 'rabbitmq' else 'Redis'} down at submit (HTTP)"
    return Outcome(label, verdict, expected_goals=n, extra_problems=problems, figures={
        "goals": n, "broker down s": down_for, "submit p50 s": round(statistics.median(latencies), 3),
        "submit p99 s": round(p99(latencies), 3), "submit max s": round(max(latencies), 3), "non-2xx": errors,
        "publishes failed": failed_publishes, "all final after broker back s": round(drained, 1)})


def broker_restart(stage: Stage, *, n: int, seconds: float = 0.3, down_for: float = 3.0,
                   timeout: float = 300) -> Outcome:
    """The broker SIGKILLed with tasks running and queued, and started again ``down_for`` seconds later
    (from its append-only file): nothing lost, redeliveries absorbed."""
    run = new_run("broker-restart")
    broker = RedisServer(stage.folder).start()
    on_broker = replace(stage, broker_url=broker.url)
    try:
        with running(Worker(on_broker, f"broker-restart-{run}"), reconciler(on_broker)):
            feeder = client(on_broker, "client", "--run", run, "--n", str(n), "--seconds", str(seconds)).start()
            feeder.wait(timeout)
            wait_until(lambda: Goal.objects.filter(params__run=run, state="running").count() >= 2, timeout=60,
                       every=0.05)
            in_flight = Goal.objects.filter(params__run=run, state="running").count()
            queued = count_goals(run, final=False) - in_flight
            broker.kill()
            time.sleep(down_for)
            broker.start()
            back_at = time.monotonic()
            wait_all_final(run, n, timeout=timeout)
            drained = time.monotonic() - back_at
    finally:
        broker.stop()
    verdict = verify(run)
    ignored = ignored_count(run)
    return Outcome("broker restart with tasks in flight", verdict, expected_goals=n, figures={
        "goals": n, "running at the kill": in_flight, "waiting at the kill": queued,
        "goals sent again": sent_again(run),
        "executions": verdict.runs, "deliveries ignored": ignored, "all final after broker back s": round(drained, 1)})


def moved_on(attempts: dict) -> bool:
    """Every one of these goals has left the running attempt it had (ended, or sent again)."""
    rows = Goal.objects.filter(id__in=attempts).values_list("id", "state", "attempt")
    return all(state != "running" or attempt > attempts[goal_id] for goal_id, state, attempt in rows)


def database_down(stage: Stage, *, n: int, down_for: float, seconds: float = 0.1, timeout: float = 300) -> Outcome:
    """PostgreSQL taken away from the worker, the reconciler and the clients for ``down_for`` seconds
    (every connection dropped, new ones refused) while ``n`` goals run: callbacks that could not be
    written are repaired, and the goals in flight end within heartbeat timeout + one period of the
    database's return, with the same worker and reconciler processes."""
    run = new_run("database-down")
    proxy = CuttableProxy(stage.database_url).start()
    via_proxy = replace(stage, database_url=proxy.url)
    period = float(stage.timings["FAULTS_RECONCILE_EVERY"])
    heartbeat = float(stage.timings["FAULTS_HEARTBEAT_TIMEOUT"])
    worker, loop = Worker(via_proxy, f"database-down-{run}"), reconciler(via_proxy)
    try:
        with running(worker, loop):
            code, _ = submit(via_proxy, run, n, seconds=seconds)
            # Cut while a goal runs, not in a gap between two (a 0.1 s goal leaves the pool children idle
            # now and then): the outage must catch callbacks in flight, which the figures then count.
            wait_until(lambda: count_goals(run, final=True) >= n // 4
                       and Goal.objects.filter(params__run=run, state="running").exists(), timeout=120)
            proxy.cut()
            time.sleep(down_for)
            in_flight = dict(Goal.objects.filter(params__run=run, state="running").values_list("id", "attempt"))
            proxy.restore()
            back_at = time.monotonic()
            wait_until(lambda: moved_on(in_flight), timeout=timeout)
            settled = time.monotonic() - back_at
            wait_all_final(run, n, timeout=timeout)
            drained = time.monotonic() - back_at
            survived = worker.alive() and loop.alive()
    finally:
        proxy.close()
    verdict = verify(run)
    problems = [] if survived else ["the worker or the reconciler did not survive the outage"]
    if settled > heartbeat + period + 1.0:
        problems.append(f"goals in flight settled {settled:.1f} s after the database came back, beyond heartbeat"
                        f" timeout + one period ({heartbeat + period:.0f} s)")
    return Outcome("database unavailable", verdict, expected_goals=n, extra_problems=problems, figures={
        "goals": n, "database down s": down_for, "running when it came back": len(in_flight),
        "in-flight settled after s": round(settled, 1), "all final after s": round(drained, 1),
        "goals sent again": sent_again(run), "client exit": code})
