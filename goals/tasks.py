"""The Celery side: one thin task that runs a goal's executor, and a base class whose lifecycle hooks
carry every state change to the goal row.

The task takes the goal id and attempt number, never a model instance, and owns no business state.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery import Task, shared_task, states
from celery.app.task import Context
from celery.exceptions import Ignore, Reject
from celery.signals import worker_process_shutdown
from django.utils import timezone

from goals import tracing
from goals.actors import process_name
from goals.conf import goal_settings
from goals.db import DATABASE_UNREACHABLE, retry_while_unreachable
from goals.exceptions import ChildrenNotAwaited, GoalBehindMessage, GoalNoLongerRunning, ResultNotSerializable
from goals.executors.attempt_rules import Next, after_error
from goals.executors.error_records import error_record
from goals.executors.registry import get_executor
from goals.families import children as families
from goals.ids import new_task_id
from goals.lifecycle.results import result_row, writes_own_result_rows
from goals.lifecycle.run_kind import run_kind
from goals.lifecycle.states import GoalState
from goals.logs import goal_extra, running_goal
from goals.periodic.periods import give_periods
from goals.pruning import COMPACT_WINDOW, PruneCounts, compact_journals, prune, prune_unconsumed_events
from goals.reconciler.passes import scheduled_pass
from goals.submitting import sender
from goals.submitting.release import release_due_goals
from goals.task_names import EXECUTE_TASK, PRUNE_TASK, RECONCILE_TASK, RELEASE_TASK
from goals.waits.events import WaitForEvent, time_out_waits
from goals.worker import callbacks
from goals.worker.context import ExecutionContext
from goals.worker.request import GoalRequest

logger = logging.getLogger(__name__)

@dataclass(frozen=True)
class RetryLater:
    """A retry whose back-off outlasts ``GOALS_RETRY_LATER_AFTER``: the next attempt waits as scheduled."""

    next_task_id: str
    countdown: float
    error: BaseException
    traceback: str


# Seconds a message that arrived ahead of its goal's attempt waits before it goes back to the queue.
BEHIND_MESSAGE_PAUSE = 0.5


def _goal_args(args: Any) -> tuple[str, int]:
    """The (goal id, attempt) a message carries; a malformed message is dropped, never run."""
    try:
        goal_id, attempt = args
        return str(uuid.UUID(str(goal_id))), int(attempt)
    except (TypeError, ValueError) as exc:
        logger.error("dropping goal task with malformed arguments %r", args)
        raise Reject(f"malformed goal task arguments: {args!r}", requeue=False) from exc


class GoalTask(Task):
    """Base class of goal tasks: ``before_start``, ``on_success``, ``on_retry`` and ``on_failure``
    each apply one fenced transition (see ``goals.worker.callbacks``)."""

    # The goal row records "running" (with worker and heartbeat). A STARTED result row would cost a
    # transaction per task and be left behind by every delivery the attempt fence ignores.
    track_started = False
    acks_late = True
    reject_on_worker_lost = True
    # Attempts are bounded by the goal's budget, not by Celery's retry counter.
    max_retries = None
    # A hard time limit fails the goal at once on every supported Celery (goals.worker.request).
    Request = GoalRequest

    @property
    def ignore_result(self) -> bool:  # type: ignore[override]
        # With django-celery-results the goal's final transition writes the result row itself, in the
        # same statement (goals.lifecycle.results); Celery must not store it a second time.
        return writes_own_result_rows(self)

    def _worker(self) -> str:
        return self.request.hostname or ""

    def _alone(self) -> bool:
        """Whether the running goal has no parent and no children (as its start read it, and as its attempt
        spawned none): its end is then the statement without the family parts (``end_lone_attempt``)."""
        run, ctx = getattr(self.request, "goal_run", None), getattr(self.request, "goal_ctx", None)
        return bool(run and run.family and run.family.alone and ctx is not None and not ctx.spawned)

    def _progress(self) -> tuple[int, int | None, str] | None:
        ctx = getattr(self.request, "goal_ctx", None)
        return ctx.progress_values if ctx is not None else None

    def _record(self, what: str, callback: Any) -> Any:
        """Run a callback, waiting out a database that cannot be reached (``GOALS_CALLBACK_DATABASE_WAIT``)."""
        return retry_while_unreachable(callback, within=goal_settings().callback_database_wait, what=what)

    def _log_extra(self, goal_id: str, attempt: int) -> dict[str, Any]:
        """The structured fields of a line about the goal (``goals.logs``): its kind, once its start said it."""
        run = getattr(self.request, "goal_run", None)
        return goal_extra(goal_id, run.kind if run is not None else None, attempt)

    def _record_final(self, event: str, goal_id: str, attempt: int, callback: Any) -> Any:
        """What ``callback`` returned, or None if the database stayed unreachable."""
        what = f"{event} of goal {goal_id} attempt {attempt}"
        try:
            return self._record(what, callback)
        except DATABASE_UNREACHABLE as exc:
            # The goal stays running at this attempt; the reconciler finds its result row (written by the
            # same statement, so missing too) or its silent heartbeat and repairs it.
            logger.error("%s not recorded, the database is unreachable: %s; the reconciler repairs it", what, exc,
                         extra=self._log_extra(goal_id, attempt))
            return None

    def before_start(self, task_id: str, args: Any, kwargs: Any) -> None:
        goal_id, attempt = _goal_args(args)
        delivery = self.request.delivery_info or {}
        try:
            started = self._record(f"start of goal {goal_id} attempt {attempt}", lambda: callbacks.attempt_started(
                goal_id=goal_id, attempt=attempt, task_id=task_id, worker=self._worker(),
                redelivered=bool(delivery.get("redelivered"))))
        except DATABASE_UNREACHABLE as exc:
            # Not run and not acknowledged: the message goes back to the queue for when the database is back
            # (acknowledged after a failure, it would leave the goal queued with nothing left to run it).
            raise Reject(f"goal {goal_id} attempt {attempt}: the database is unreachable: {exc}",
                         requeue=True) from exc
        except GoalBehindMessage as exc:
            # The retry that sent this message is not recorded yet: hand the message back (after a pause, so
            # it does not spin) rather than acknowledge it and leave the goal retrying with nothing queued.
            time.sleep(BEHIND_MESSAGE_PAUSE)
            raise Reject(str(exc), requeue=True) from exc
        if started is None:
            # Stale, duplicate or cancelled: acknowledge the message without running anything.
            raise Ignore()
        self.request.goal_run = started
        self.request.goal_span = tracing.start_attempt(goal_id, started.kind, attempt, started.trace_context)

    def _traced(self, task_id: str, name: str, state: str, error: BaseException | None = None) -> None:
        """The transition that ended the attempt, on its span, which it ends (``goals.tracing``): every hook
        ends it (Celery calls ``after_return`` for neither a retry nor an ignored task)."""
        if self.request.id == task_id:
            span = getattr(self.request, "goal_span", None)
            tracing.transition(span, name, state, error)
            tracing.end_attempt(span)

    def on_success(self, retval: Any, task_id: str, args: Any, kwargs: Any) -> None:
        goal_id, attempt = _goal_args(args)
        later = getattr(self.request, "goal_retry_later", None) if self.request.id == task_id else None
        if later is not None:
            self._retry_later(goal_id, attempt, task_id, later)
            self._traced(task_id, "retry_later", GoalState.SCHEDULED, later.error)
            return
        waiting = getattr(self.request, "goal_wait", None) if self.request.id == task_id else None
        if waiting is not None:
            wait, budget = waiting
            record = callbacks.attempt_awaiting_event if isinstance(wait, WaitForEvent) else callbacks.attempt_waiting
            self._record_final("wait", goal_id, attempt, lambda: record(
                goal_id=goal_id, attempt=attempt, task_id=task_id, worker=self._worker(), wait=wait, budget=budget))
            self._traced(task_id, "await_event" if isinstance(wait, WaitForEvent) else "wait", GoalState.WAITING)
            return
        row, progress = result_row(self, status=states.SUCCESS, value=retval), self._progress()
        # What the success statement did, for what runs after the hooks (Django's ``task_finished``: goals.tasking).
        self.request.goal_end = self._record_final("success", goal_id, attempt, lambda: callbacks.attempt_succeeded(
            goal_id=goal_id, attempt=attempt, task_id=task_id, worker=self._worker(), result=retval,
            progress=progress, result_row=row, alone=self._alone()))
        end = self.request.goal_end
        self._traced(task_id, "succeed", end.state if end is not None else GoalState.SUCCEEDED)

    def on_retry(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        goal_id, attempt = _goal_args(args)
        retry = getattr(self.request, "goal_retry", None) if self.request.id == task_id else None
        if retry is None:
            # Not a retry the executor raised: the worker's main process cancelled the running task because
            # its broker connection was lost (worker_cancel_long_running_tasks_on_connection_loss). The
            # message was not acknowledged, so it is delivered again, and its start recovers the attempt.
            logger.warning("goal %s attempt %s (task %s) cancelled by Celery: %s; its redelivery recovers it",
                           goal_id, attempt, task_id, exc, extra=self._log_extra(goal_id, attempt))
            return
        next_task_id, countdown = retry
        error, progress = error_record(exc, einfo.traceback), self._progress()
        row, alone = result_row(self, status=states.RETRY, value=exc, traceback=einfo.traceback), self._alone()
        self._record_final("retry", goal_id, attempt, lambda: callbacks.attempt_retrying(
            goal_id=goal_id, attempt=attempt, task_id=task_id, worker=self._worker(), error=error,
            next_task_id=next_task_id, countdown=countdown, progress=progress, result_row=row, alone=alone))
        self._traced(task_id, "schedule_retry", GoalState.RETRYING, exc)

    def _retry_later(self, goal_id: str, attempt: int, task_id: str, later: RetryLater) -> None:
        error, progress = error_record(later.error, later.traceback), self._progress()
        row = result_row(self, status=states.RETRY, value=later.error, traceback=later.traceback)
        starts = timezone.now() + timedelta(seconds=later.countdown)
        self._record_final("retry", goal_id, attempt, lambda: callbacks.attempt_retrying(
            goal_id=goal_id, attempt=attempt, task_id=task_id, worker=self._worker(), error=error,
            next_task_id=later.next_task_id, countdown=later.countdown, progress=progress, result_row=row,
            alone=self._alone(), run_after=starts))

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        goal_id, attempt = _goal_args(args)
        error, progress = error_record(exc, einfo.traceback), self._progress()
        request, worker = self.request, self._worker()
        if request.id != task_id:
            # Called by the worker's main process, not in the task's own context: a hard time limit killed
            # the pool child running it. The request is rebuilt from what the hook is given.
            request = Context(id=task_id, task=self.name, args=args, kwargs=kwargs, hostname=process_name())
            worker = request.hostname
        row = result_row(self, status=states.FAILURE, value=exc, traceback=einfo.traceback, request=request)
        alone = self._alone() if request is self.request else False
        self._record_final("failure", goal_id, attempt, lambda: callbacks.attempt_failed(
            goal_id=goal_id, attempt=attempt, task_id=task_id, worker=worker, error=error, progress=progress,
            result_row=row, alone=alone))
        self._traced(task_id, "fail", GoalState.FAILED, exc)


def _as_json(value: Any) -> Any:
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise ResultNotSerializable(
            f"the executor returned {type(value).__name__}, which is not JSON: {exc}"
        ) from exc


@shared_task(bind=True, base=GoalTask, name=EXECUTE_TASK)
def execute_goal(self: GoalTask, goal_id: str, attempt: int) -> Any:
    """Run attempt ``attempt`` of goal ``goal_id`` (the start transition already made it running)."""
    run = self.request.goal_run
    family = run.family if run.family and run.family.fan_ins else None
    # A continuation runs the executor its goal handed back with, if it named one (``goals.lifecycle.run_kind``).
    spec = get_executor(run.run_kind)
    settings = goal_settings()
    ctx = ExecutionContext(goal_id=goal_id, attempt=attempt, kind=run.kind, interval=settings.progress_interval,
                           family=run.family, worker=self._worker())
    self.request.goal_ctx = ctx
    try:
        # The executor's own log lines carry the goal (goals.logs); what it does is under the attempt's span.
        with running_goal(goal_id, run.kind, attempt), tracing.current(getattr(self.request, "goal_span", None)):
            value = spec.fn(ctx, **run.params) if family is None else families.continue_after_children(
                goal_id, family, lambda: spec.fn(ctx, **run.params))
    except GoalNoLongerRunning as exc:
        # Cancelled, expired or moved on meanwhile: the goal row already says so, and nothing failed. Ignored,
        # the task is acknowledged and logged by Celery at INFO, with no failure hook and no traceback.
        logger.info("goal %s attempt %s stopped: %s", goal_id, attempt, exc,
                    extra=goal_extra(goal_id, run.kind, attempt))
        self._traced(self.request.id, "stopped", "no longer running")
        raise Ignore() from exc
    except Exception as exc:
        if after_error(spec, attempt=attempt, max_attempts=run.max_attempts, error=exc).next is Next.RETRY:
            countdown = spec.backoff(attempt, settings.retry_backoff_min)
            next_task_id = new_task_id()
            if countdown > settings.retry_later_after:
                # Recorded by on_success (the ``retry_later`` transition): the next attempt waits as scheduled.
                self.request.goal_retry_later = RetryLater(next_task_id, countdown, exc, traceback.format_exc())
                return {"retry_later": round(countdown, 3)}
            self.request.goal_retry = (next_task_id, countdown)
            raise self.retry(exc=exc, args=(goal_id, attempt + 1), task_id=next_task_id,
                             countdown=countdown) from exc
        raise
    if isinstance(value, WaitForEvent):
        # Recorded by on_success (the ``await_event`` transition), as a wait for children is.
        if ctx.spawned:
            raise ChildrenNotAwaited(f"spawned {ctx.spawned} children, then waited for an event: wait for the "
                                     "children first")
        self.request.goal_wait = (value, get_executor(run_kind(run.kind, value.then)).max_attempts)
        return {"waiting_for_event": value.name}
    if isinstance(value, families.WaitForChildren):
        # Recorded by on_success (the ``wait`` transition); what Celery stores, if it stores anything.
        # The budget of what follows is that of the executor the next attempt runs.
        self.request.goal_wait = (value, get_executor(run_kind(run.kind, value.then)).max_attempts)
        return {"waiting_for_children": ctx.spawned}
    if ctx.spawned:
        raise ChildrenNotAwaited(f"spawned {ctx.spawned} children, then returned without "
                                 "ctx.wait_for_children(): their outcome would decide nothing")
    return _as_json(value)


@shared_task(name=RECONCILE_TASK)
def reconcile_goals() -> dict[str, Any]:
    """The scheduled reconciler pass (see ``goals.reconciler``); skipped while another one runs."""
    return scheduled_pass()


@shared_task(name=RELEASE_TASK, ignore_result=True)
def release_goals(look_ahead: bool = True) -> int:
    """Beat's release of the goals due to start, or a timer's (``look_ahead=False``): see
    ``goals.submitting.release``; returns how many. Beat's first gives the schedules' coming periods their
    goals (``goals.periodic.periods``); each also moves on the waits for an event past their deadline
    (``goals.waits.events``). Its result is not stored: a timer runs many times a minute."""
    if look_ahead:
        give_periods()
    time_out_waits()
    return release_due_goals(look_ahead=look_ahead)


@shared_task(name=PRUNE_TASK)
def prune_goals() -> dict[str, int]:
    """Scheduled retention: deletes what ``manage.py prune_goals`` would when ``GOALS_PRUNE_AFTER_DAYS`` > 0,
    and compacts the journals that aged past ``GOALS_JOURNAL_DETAIL_DAYS`` (when > 0) since the last nights."""
    config, now = goal_settings(), timezone.now()
    counts = PruneCounts()
    if config.prune_after_days > 0:
        counts = prune(cutoff=now - timedelta(days=config.prune_after_days))
    if config.journal_detail_days > 0:
        cutoff = now - timedelta(days=config.journal_detail_days)
        counts.journal_rows = compact_journals(cutoff=cutoff, since=cutoff - COMPACT_WINDOW)
    events = 0
    if config.event_retention_days > 0:
        events = prune_unconsumed_events(cutoff=now - timedelta(days=config.event_retention_days))
    return {"goals": counts.goals, "reports": counts.reports, "journal_rows": counts.journal_rows,
            "unconsumed_events": events}


@worker_process_shutdown.connect
def send_held_goals(**kwargs: Any) -> None:
    """A pool child ends without running ``atexit``: goals its executors submitted are sent first."""
    sender.stop()
