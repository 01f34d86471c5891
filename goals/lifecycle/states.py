"""The goal lifecycle: states, final states and the one table of allowed transitions.

This module is the only place that says which state may follow which. A transition is a named verb
(``start``, ``succeed``, ...) with a set of source states and one target state; the transition service
(``goals.lifecycle.transitions``) applies it as one conditional UPDATE on state *and* attempt number.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class GoalState(models.TextChoices):
    SCHEDULED = "scheduled", "scheduled"
    """Committed with a start time still to come: it waits in PostgreSQL, not in a broker or a worker."""
    PENDING = "pending", "pending"
    """Committed, but the current attempt is not known to have reached the broker."""
    QUEUED = "queued", "queued"
    """The current attempt's task was published and waits for a worker."""
    RUNNING = "running", "running"
    """A worker runs the current attempt; its heartbeat says it is alive."""
    RETRYING = "retrying", "retrying"
    """An attempt failed; the next attempt is published with a back-off delay."""
    HELD = "held", "held"
    """A worker took the current attempt, but a limit of its kind said not now (``goals.executors.limits``):
    it waits, holding no worker and spending no attempt, for a slot of its concurrency limit, its turn under
    its rate, or its paused kind to be resumed (``held_for``)."""
    WAITING = "waiting", "waiting"
    """The executor handed back control until its children end, or until an outside event arrives or its
    wait's deadline passes: no worker holds it meanwhile."""
    SUCCEEDED = "succeeded", "succeeded"
    """Final: the executor returned; its result is on the goal."""
    FAILED = "failed", "failed"
    """Final: the last allowed attempt failed; the error is on the goal."""
    CANCELLED = "cancelled", "cancelled"
    """Final: someone cancelled it; an executor that has not started never will."""
    EXPIRED = "expired", "expired"
    """Final: its deadline passed before it finished."""


class AttemptOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", "succeeded"
    """The executor returned."""
    FAILED = "failed", "failed"
    """The executor raised (a retry may follow as the next attempt)."""
    WORKER_LOST = "worker_lost", "worker lost"
    """The worker died mid-run; its redelivered message started the next attempt."""
    ABANDONED = "abandoned", "abandoned"
    """Superseded by a new attempt (explicit retry, or re-sent by the reconciler)."""
    CANCELLED = "cancelled", "cancelled"
    EXPIRED = "expired", "expired"
    WAITING = "waiting", "handed back"
    """The executor started child goals and handed back control; the next attempt continues."""


FINAL_STATES: frozenset[GoalState] = frozenset(
    {GoalState.SUCCEEDED, GoalState.FAILED, GoalState.CANCELLED, GoalState.EXPIRED}
)
ACTIVE_STATES: frozenset[GoalState] = frozenset(GoalState) - FINAL_STATES
# Final states an explicit retry may restart; a success is never run again.
RETRYABLE_STATES: frozenset[GoalState] = frozenset({GoalState.FAILED, GoalState.CANCELLED, GoalState.EXPIRED})


@dataclass(frozen=True)
class Transition:
    """A named move of the goal row. ``new_attempt`` moves also open the next attempt (the fence)."""

    name: str
    sources: frozenset[GoalState]
    target: GoalState
    new_attempt: bool = False
    # Automatic new attempts stay within the goal's attempt budget (``Goal.max_attempts``).
    bounded: bool = False
    # The new attempt's message was published by Celery's own retry before the move: goaltrack sends
    # nothing for it (every other move that opens an attempt leaves it for its caller to send).
    celery_publishes: bool = False
    # How the move ends the goal's current attempt row (None: it leaves it open).
    closes_attempt_as: AttemptOutcome | None = None
    # A final goal runs again from the start: result, error, progress and its family's policy are cleared.
    restarts: bool = False
    # The executor hands back control to its children: the policy and continuation are recorded.
    waits: bool = False
    # The children's outcome is known: the goal goes on (counted as one more fan-in).
    fans_in: bool = False
    # The children's outcome is the goal's own: no continuation is left to run.
    concludes: bool = False
    # The move gives the goal a new start time (``run_after``): it waits as scheduled until then.
    sets_start: bool = False
    # The executor hands back control until an outside event arrives: the event, its key, the deadline
    # (``run_after``) and the continuation are recorded.
    awaits_event: bool = False
    # The goal stops waiting for an event (it came, or the deadline passed): its correlation key is cleared.
    stops_waiting: bool = False
    # What the move means, for a reader of the reference (docs/reference/lifecycle.md is built from it).
    summary: str = ""

    @property
    def ends(self) -> bool:
        return self.target in FINAL_STATES

    def allows(self, source: GoalState | str) -> bool:
        return source in self.sources


S = GoalState
A = AttemptOutcome
# Each transition's statement: ``start`` and ``enqueue`` have their own (the worker's and the publisher's
# hot paths); every other move is ``move_goals``, which reads the flags below (goals/lifecycle/sql).
# A goal submitted to start later waits in PostgreSQL; once due, it is released at the same attempt, which
# its caller then sends (``release_due_goals``, from beat).
RELEASE = Transition("release", frozenset({S.SCHEDULED, S.HELD}), S.PENDING,
                     summary="Its start time, or its turn under its kind's rate, has come: the goal is sent to a "
                             "worker.")
# A person (or the API) moves a scheduled goal's start time, earlier or later; still the same attempt.
RESCHEDULE = Transition("reschedule", frozenset({S.SCHEDULED}), S.SCHEDULED, sets_start=True,
                        summary="A person changes the start time of a goal that waits to start.")
# The worker may start an attempt before the publisher has recorded "queued": pending -> running.
START = Transition("start", frozenset({S.PENDING, S.QUEUED, S.RETRYING}), S.RUNNING,
                   summary="A worker takes the current attempt.")
# The statement that starts an attempt enforces its kind's concurrency limit (``start_attempt``): over the
# limit, the goal is held at the same attempt instead, and its message acknowledged.
HOLD = Transition("hold", frozenset({S.PENDING, S.QUEUED, S.RETRYING}), S.HELD,
                  summary="A worker took the current attempt while its kind or key ran as many as its "
                          "concurrency limit allows: it waits for a slot, holding no worker.")
# The attempt that frees a slot hands it to the oldest held goal of its key (``admit_held_goals``, in the same
# transaction), which keeps it while it is sent and runs: no later message of the key can take it first.
ADMIT = Transition("admit", frozenset({S.HELD}), S.PENDING,
                   summary="A slot of its kind or key freed: the goal takes it and is sent, at the same attempt.")
# "Sent to the broker" is a hint for the reconciler: lost in a crash, the goal shows pending and is sent
# again after the grace period, and the duplicate message is fenced off. It need not wait for the disk:
# its statement, ``mark_queued``, commits without the WAL flush.
ENQUEUE = Transition("enqueue", frozenset({S.PENDING}), S.QUEUED,
                     summary="The current attempt's task was handed to the broker.")
SUCCEED = Transition("succeed", frozenset({S.RUNNING}), S.SUCCEEDED, closes_attempt_as=A.SUCCEEDED,
                     summary="The executor returned: its result is the goal's.")
# Failing is allowed from any active state: a worker that cannot start a goal (unknown kind) fails it
# from queued; the reconciler fails a goal whose attempts are used up.
FAIL = Transition("fail", ACTIVE_STATES, S.FAILED, closes_attempt_as=A.FAILED,
                  summary="The goal ends with an error: its last attempt failed, or it must not run again.")
SCHEDULE_RETRY = Transition("schedule_retry", frozenset({S.RUNNING}), S.RETRYING, new_attempt=True, bounded=True,
                            celery_publishes=True, closes_attempt_as=A.FAILED,
                            summary="The attempt raised and attempts are left: the next one is sent after "
                                    "its back-off.")
# A back-off longer than ``GOALS_RETRY_LATER_AFTER`` waits in PostgreSQL as the next attempt, scheduled, not
# as a delayed message in a worker's memory: released when due, as a goal submitted to start later.
RETRY_LATER = Transition("retry_later", frozenset({S.RUNNING}), S.SCHEDULED, new_attempt=True, bounded=True,
                         closes_attempt_as=A.FAILED, sets_start=True,
                         summary="The attempt raised and attempts are left: the next one waits as scheduled "
                                 "until its long back-off ends.")
# An attempt that was lost (its worker died, its message vanished) is sent again as a new attempt; the
# old attempt's callbacks are fenced off by the attempt number.
REDISPATCH = Transition("redispatch", frozenset({S.QUEUED, S.RUNNING, S.RETRYING}), S.PENDING,
                        new_attempt=True, bounded=True, closes_attempt_as=A.ABANDONED,
                        summary="A lost attempt (dead worker, vanished message) is replaced by a new one.")
# An explicit retry of a final goal; it grants a fresh attempt budget.
RETRY = Transition("retry", RETRYABLE_STATES, S.PENDING, new_attempt=True, closes_attempt_as=A.ABANDONED,
                   restarts=True, summary="A person retries a final goal, with a fresh attempt budget.")
CANCEL = Transition("cancel", ACTIVE_STATES, S.CANCELLED, closes_attempt_as=A.CANCELLED,
                    summary="A person, or its parent's end, cancels the goal.")
# The executor started child goals and handed back control (``ctx.wait_for_children()``); it closes the
# attempt, so the goal holds no worker while its children run.
WAIT = Transition("wait", frozenset({S.RUNNING}), S.WAITING, closes_attempt_as=A.WAITING, waits=True,
                  summary="The executor hands back control until its children's outcome is known.")
# Its children's outcome is known (the last one became final, or more failed than its policy tolerates):
# the next attempt runs the continuation, or finishes the goal with the children's aggregate. Applied by
# the child's own final move, in the same statement (``move_goals``); within the budget that ``wait``
# set, so it is not bounded again.
FAN_IN = Transition("fan_in", frozenset({S.WAITING}), S.PENDING, new_attempt=True, fans_in=True,
                    summary="The children's outcome is known: the next attempt continues the goal.")
# The executor hands back control until an outside event arrives (``ctx.wait_for_event()``), or its deadline.
AWAIT_EVENT = Transition("await_event", frozenset({S.RUNNING}), S.WAITING, closes_attempt_as=A.WAITING,
                         awaits_event=True, summary="The executor hands back control until an outside event "
                                                    "arrives or its wait's deadline passes.")
# The event arrived: the move that consumes it (``move_goals``, one statement) opens the next attempt, which
# runs the continuation with the event. Within the budget that ``await_event`` set, as ``fan_in``.
RESUME = Transition("resume", frozenset({S.WAITING}), S.PENDING, new_attempt=True, stops_waiting=True,
                    summary="The event a goal waited for arrived: the next attempt continues with it.")
# The wait's deadline passed first: the continuation runs without an event (``ctx.timed_out``).
TIME_OUT = Transition("time_out", frozenset({S.WAITING}), S.PENDING, new_attempt=True, stops_waiting=True,
                      summary="The deadline of a wait for an event passed first: the next attempt continues "
                              "without it.")
EXPIRE = Transition("expire", ACTIVE_STATES, S.EXPIRED, closes_attempt_as=A.EXPIRED,
                    summary="The goal's deadline passed before it finished.")
# A fanned-in parent with no continuation succeeds with its children's counts at once, with no worker: its
# next attempt would have done nothing else (``goals.submitting.moves``). Failing it is ``fail``.
AGGREGATE = Transition("aggregate", frozenset({S.PENDING}), S.SUCCEEDED, closes_attempt_as=A.SUCCEEDED,
                       concludes=True, summary="A fanned-in goal with no continuation succeeds with its "
                                               "children's counts, with no worker.")

TRANSITIONS: dict[str, Transition] = {
    t.name: t for t in (RELEASE, RESCHEDULE, START, HOLD, ADMIT, ENQUEUE, SUCCEED, FAIL, SCHEDULE_RETRY, RETRY_LATER,
                         REDISPATCH, RETRY, CANCEL, EXPIRE, WAIT, FAN_IN, AGGREGATE, AWAIT_EVENT, RESUME, TIME_OUT)
}


def allowed_pairs() -> frozenset[tuple[GoalState, GoalState]]:
    """Every (source, target) pair some transition allows."""
    return frozenset((source, t.target) for t in TRANSITIONS.values() for source in t.sources)
