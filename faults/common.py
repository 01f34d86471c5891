"""What every scenario uses: its outcome, its run id, waiting for goals, and processes started for its
duration."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from faults.checks import Verdict
from faults.processes import Process, Stage, client
from goals.lifecycle.states import FINAL_STATES
from goals.models import EventType, Goal, GoalEvent

FINAL_VALUES = [state.value for state in FINAL_STATES]


@dataclass
class Outcome:
    """A scenario's figures (what the closing table shows) and its verdict (None for a scenario that checks
    its goals as it goes, and reports its own problems)."""

    scenario: str
    verdict: Verdict | None
    figures: dict[str, Any] = field(default_factory=dict)
    expected_goals: int | None = None
    extra_problems: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        found = self.verdict.problems(expected_goals=self.expected_goals) if self.verdict else []
        return found + self.extra_problems


def new_run(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def sent_again(run: str) -> int:
    """Goals of the run that needed more than one attempt."""
    return Goal.objects.filter(params__run=run, attempt__gt=1).count()


def ignored_count(run: str) -> int:
    """Deliveries and callbacks refused by the fence and journaled as ``ignored``, over the run's goals."""
    return GoalEvent.objects.filter(goal__params__run=run, event=EventType.IGNORED).count()


def count_goals(run: str, *, final: bool | None = None) -> int:
    goals = Goal.objects.filter(params__run=run)
    if final is True:
        goals = goals.filter(state__in=FINAL_VALUES)
    elif final is False:
        goals = goals.exclude(state__in=FINAL_VALUES)
    return goals.count()


def wait_until(condition: Callable[[], bool], *, timeout: float, every: float = 0.2,
               during: Callable[[], None] | None = None) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` passes (False), calling ``during`` between
    polls (the scenario's fault, e.g. a kill every few seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if during:
            during()
        time.sleep(every)
    return condition()


def wait_all_final(run: str, expected: int, *, timeout: float, during: Callable[[], None] | None = None) -> bool:
    return wait_until(lambda: count_goals(run, final=True) >= expected, timeout=timeout, during=during)


@contextmanager
def running(*processes: Process) -> Iterator[None]:
    """Start the processes (in order) and stop them all (in reverse) however the scenario ends."""
    started: list[Process] = []
    try:
        for process in processes:
            process.start()
            started.append(process)
        yield
    finally:
        for process in reversed(started):
            process.stop()


def submit(stage: Stage, run: str, n: int, *options: str, seconds: float = 0.0, name: str = "client",
           timeout: float = 300) -> tuple[int, float]:
    """Submit ``n`` goals from a client process (``options``: more of its flags); returns its exit code
    and how long it took."""
    clock = time.monotonic()
    process = client(stage, name, "--run", run, "--n", str(n), "--seconds", str(seconds), *options).start()
    code = process.wait(timeout)
    return code, time.monotonic() - clock
