"""Goals that start later, with everything that would start them killed before their time: after a
restart past it, each runs exactly once, and none ran before its time."""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from faults.checks import verify
from faults.common import Outcome, new_run, running, submit, wait_all_final
from faults.processes import Stage, Worker, beat
from goals.models import Attempt, Goal


def deferred_kill(stage: Stage, *, n: int, delay: float, timeout: float = 600) -> Outcome:
    """``n`` goals submitted to start ``delay`` seconds from now, all at one time, while a worker and beat
    run; both SIGKILLed a third of the delay before that time; nothing runs until two seconds after it;
    then a new worker and beat. Each goal must run exactly once, and no attempt start before the time."""
    run = new_run("deferred-kill")
    starts = timezone.now() + timedelta(seconds=delay)
    # The worker takes the goals and the release (beat's entry and its timers, on the default queue).
    queues = f"{stage.queue},{stage.queue}-default"
    first, first_beat = Worker(stage, f"deferred-a-{run}", queues=queues), beat(stage, f"deferred-beat-a-{run}")
    with running(first, first_beat):
        code, took = submit(stage, run, n, "--run-after", starts.isoformat(), timeout=timeout)
        time.sleep(max(0.0, (starts - timezone.now()).total_seconds() - delay / 3))
        scheduled_at_kill = Goal.objects.filter(params__run=run, state="scheduled").count()
        first.kill()
        first_beat.kill()
    time.sleep(max(0.0, (starts - timezone.now()).total_seconds()) + 2)
    released_while_down = Goal.objects.filter(params__run=run).exclude(state="scheduled").count()
    with running(Worker(stage, f"deferred-b-{run}", queues=queues), beat(stage, f"deferred-beat-b-{run}")):
        clock = time.monotonic()
        wait_all_final(run, n, timeout=timeout)
        all_final = time.monotonic() - clock
    verdict = verify(run)
    early = Attempt.objects.filter(goal__params__run=run, started_at__lt=starts).count()
    problems = []
    if code:
        problems.append(f"the client exited with {code}")
    if took >= delay * 2 / 3:
        problems.append(f"submitting took {took:.1f} s, past the kill: make the delay longer")
    if scheduled_at_kill != n:
        problems.append(f"{n - scheduled_at_kill} goals had left 'scheduled' before their time")
    if released_while_down:
        problems.append(f"{released_while_down} goals moved while nothing ran")
    if early:
        problems.append(f"{early} attempts started before their time")
    return Outcome("deferred goals, everything killed before their time", verdict, expected_goals=n,
                   extra_problems=problems, figures={
                       "goals": n, "submitted in s": round(took, 1), "scheduled at the kill": scheduled_at_kill,
                       "started before their time": early, "all final after the restart in s": round(all_final, 1),
                       "double effects": verdict.double_effects})
