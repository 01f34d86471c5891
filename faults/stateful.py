"""Late and out-of-order callbacks: a Hypothesis state machine interleaving the callbacks of attempts
n - 1, n and n + 1 of one goal with reconciler passes (now and hours later) and people's actions
(cancel, retry, acknowledge), checking after every step that a final state never changes except by an
explicit retry and that the journal never goes backwards.

The callbacks are the functions the worker's hooks call (``goals.worker.callbacks``), on real PostgreSQL. Each
example runs in a transaction of its own, rolled back at its end: nothing is committed, so nothing is
sent after commit (the reconciler's own sends go to the executor's queue, purged at the end).
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from kombu import Connection

from faults.checks import Verdict, verify
from faults.common import FINAL_VALUES, Outcome, new_run
from faults.processes import Stage
from goals.exceptions import GoalBehindMessage, GoalError
from goals.executors.registry import get_executor
from goals.lifecycle.states import GoalState
from goals.models import Cause, Goal, GoalEvent
from goals.reconciler.passes import run_pass
from goals.submitting.people import goal_cancel, goal_retry
from goals.submitting.review import goal_acknowledge
from goals.submitting.submit import goal_submit
from goals.worker import callbacks


def machine_for(run: str, verdicts: list[Verdict]) -> type[RuleBasedStateMachine]:
    class LateCallbacks(RuleBasedStateMachine):
        """One goal per example; every rule is something that can reach its row in production."""

        @initialize()
        def submit(self) -> None:
            # A transaction per example, rolled back at its end: one long transaction of savepoints would
            # keep every rolled-back row version unvacuumable and slow each pass down, example by example.
            self.transaction = transaction.atomic()
            self.transaction.__enter__()
            goal, _ = goal_submit(kind="faults.effect", params={"run": run})
            self.goal_id, self.retried = goal.id, False
            self.seen = self._snapshot()

        def _snapshot(self) -> tuple:
            goal = Goal.objects.get(pk=self.goal_id)
            last = GoalEvent.objects.filter(goal_id=self.goal_id).order_by("-id").values_list("id", flat=True).first()
            return goal.state, goal.attempt, goal.result, goal.error, last

        def _attempt(self, offset: int) -> int:
            return max(1, self.seen[1] + offset)

        @rule(offset=st.sampled_from([-1, 0, 1]), redelivered=st.booleans())
        def start(self, offset: int, redelivered: bool) -> None:
            attempt = self._attempt(offset)
            try:
                callbacks.attempt_started(goal_id=str(self.goal_id), attempt=attempt, task_id="t", worker="w",
                                          redelivered=redelivered)
            except GoalBehindMessage:
                # The message is handed back to the queue, changing nothing: only ever for the next attempt
                # of a goal whose running attempt has not recorded its retry.
                goal = Goal.objects.get(pk=self.goal_id)
                assert (goal.state, goal.attempt) == (GoalState.RUNNING, attempt - 1)

        @rule(offset=st.sampled_from([-1, 0, 1]))
        def succeed(self, offset: int) -> None:
            callbacks.attempt_succeeded(goal_id=str(self.goal_id), attempt=self._attempt(offset), task_id="t",
                                        worker="w", result={"offset": offset}, progress=None, result_row=None)

        @rule(offset=st.sampled_from([-1, 0, 1]))
        def fail(self, offset: int) -> None:
            callbacks.attempt_failed(goal_id=str(self.goal_id), attempt=self._attempt(offset), task_id="t",
                                     worker="w", error={"type": "Boom", "message": "", "traceback": ""},
                                     progress=None, result_row=None)

        @rule(offset=st.sampled_from([-1, 0, 1]))
        def schedule_retry(self, offset: int) -> None:
            callbacks.attempt_retrying(goal_id=str(self.goal_id), attempt=self._attempt(offset), task_id="t",
                                       worker="w", error={"type": "Boom", "message": "", "traceback": ""},
                                       next_task_id=str(uuid.uuid4()), countdown=1.0, progress=None,
                                       result_row=None)

        @rule(hours_later=st.sampled_from([0, 3]))
        def reconcile(self, hours_later: int) -> None:
            run_pass(trigger="faults", now=timezone.now() + timedelta(hours=hours_later))

        @rule(action=st.sampled_from(["cancel", "retry", "acknowledge"]))
        def person(self, action: str) -> None:
            try:
                if action == "cancel":
                    goal_cancel(goal_id=self.goal_id, actor="faults", cause=Cause.ADMIN)
                elif action == "retry":
                    goal_retry(goal_id=self.goal_id, actor="faults", cause=Cause.ADMIN)
                    self.retried = True
                else:
                    goal_acknowledge(goal_id=self.goal_id, cause=Cause.ADMIN, actor="faults")
            except GoalError:
                pass  # refused: the state does not allow it, which is the point of the fence

        @invariant()
        def final_stays_final_and_the_journal_only_grows(self) -> None:
            if not hasattr(self, "goal_id"):
                return
            now = self._snapshot()
            state, attempt, *_, last_event = self.seen
            if state in FINAL_VALUES and not self.retried:
                assert now[:4] == self.seen[:4], f"final goal changed without a retry: {self.seen[:4]} -> {now[:4]}"
            assert now[1] >= attempt, f"attempt went back: {attempt} -> {now[1]}"
            assert (now[4] or 0) >= (last_event or 0), "an event disappeared from the journal"
            self.seen, self.retried = now, False

        def teardown(self) -> None:
            if hasattr(self, "transaction"):
                try:
                    # The example's goal is the run's only one: earlier examples were rolled back.
                    verdicts.append(verify(run))
                finally:
                    transaction.set_rollback(True)
                    self.transaction.__exit__(None, None, None)

    return LateCallbacks


def late_callbacks(stage: Stage, *, examples: int, steps: int = 15) -> Outcome:
    """``examples`` goals, each taken through up to ``steps`` rules drawn by Hypothesis: 0 violations."""
    run = new_run("late-callbacks")
    verdicts: list[Verdict] = []
    problems: list[str] = []
    clock = time.monotonic()
    try:
        run_state_machine_as_test(machine_for(run, verdicts), settings=settings(
            max_examples=examples, stateful_step_count=steps, deadline=None, database=None,
            suppress_health_check=list(HealthCheck)))
    except AssertionError as exc:
        problems.append(f"invariant violated: {exc}")
    with Connection(stage.broker_url) as conn:  # what the reconciler sent for goals that never committed
        conn.default_channel.queue_purge(get_executor("faults.effect").queue)
    journal = sum(v.journal_violations for v in verdicts)
    over = sum(v.over_max_attempts for v in verdicts)
    if journal or over:
        problems.append(f"{journal} journal violations, {over} goals over their attempts")
    return Outcome("late and out-of-order callbacks (Hypothesis)", None, extra_problems=problems, figures={
        "examples": len(verdicts), "steps per example (at most)": steps, "invariant violations": len(problems),
        "journal violations": journal, "goals over their attempts": over,
        "finished as": _tally(verdicts), "seconds": round(time.monotonic() - clock, 1)})


def _tally(verdicts: list[Verdict]) -> str:
    succeeded, failed = sum(v.succeeded for v in verdicts), sum(v.failed for v in verdicts)
    other_final = sum(v.terminal for v in verdicts) - succeeded - failed
    active = sum(v.not_terminal for v in verdicts)
    return f"{succeeded} succeeded, {failed} failed, {other_final} cancelled or expired, {active} active"
