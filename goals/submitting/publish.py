"""Publishing committed goals' attempts to the broker and recording them queued, on the calling thread.

Only ever called for attempts already committed (principle: a goal is committed before its task is
sent). A broker failure never raises: the goal stays ``pending`` with a ``publish_failed`` event, to be
sent again by the reconciler. ``goals.submitting.sender`` calls these from a thread of its own for submit and retry.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from celery import current_app
from kombu.exceptions import OperationalError as BrokerError

from goals.actors import process_name
from goals.executors.error_records import MESSAGE_LIMIT
from goals.executors.registry import get_executor
from goals.lifecycle import store
from goals.lifecycle.results import goal_results_in_database
from goals.lifecycle.transitions import Dispatch, mark_queued
from goals.logs import goal_extra
from goals.task_names import EXECUTE_TASK

logger = logging.getLogger(__name__)


def _publish(dispatch: Dispatch, *, producer: Any = None) -> None:
    spec = get_executor(dispatch.kind)
    # By name, on the host's Celery app: the sender needs nothing of the worker side (goals.tasks).
    current_app.send_task(
        EXECUTE_TASK,
        args=(str(dispatch.goal_id), dispatch.attempt),
        task_id=dispatch.task_id,
        queue=spec.queue,
        soft_time_limit=spec.timeout,
        time_limit=spec.hard_time_limit,
        # Said in the message: before 5.7, Celery's send_task marks every message "store the result", which
        # the worker obeys over the task's own ignore_result, and the row would be written twice.
        ignore_result=goal_results_in_database(),
        producer=producer,
    )


def _journal_publish_failures(dispatches: list[Dispatch], exc: Exception) -> None:
    first = dispatches[0]
    logger.warning("%d goal attempt(s) not sent, broker unreachable: %s (first: goal %s attempt %s)",
                   len(dispatches), exc, first.goal_id, first.attempt,
                   extra=goal_extra(first.goal_id, first.kind, first.attempt))
    store.journal_publish_failures(goal_ids=[str(d.goal_id) for d in dispatches],
                                   attempts=[d.attempt for d in dispatches], task_ids=[d.task_id for d in dispatches],
                                   error=f"{type(exc).__name__}: {exc}"[:MESSAGE_LIMIT], actor=process_name())


def _batches(producer: Any) -> bool:
    """Whether the producer can batch publishes (``Producer.batch``, flushed once on exit)."""
    return hasattr(producer, "batch") and producer.supports_batch_publish


def publish_attempt(*, goal_id: uuid.UUID | str, attempt: int, task_id: str, kind: str) -> bool:
    """Publish attempt ``attempt`` of a committed goal and record that it is queued; returns False if the
    broker could not be reached."""
    sent = publish_attempts(dispatches=[Dispatch(goal_id=goal_id, attempt=attempt, task_id=task_id, kind=kind)])
    return str(goal_id) in sent


def publish_attempts(*, dispatches: list[Dispatch],
                   also_given_up: Callable[[], list[Dispatch]] | None = None) -> set[str]:
    """Publish a set of committed goals' attempts over one producer and record them queued in one
    statement; returns the ids (as text) of the goals sent.

    The first broker failure ends the publishing: the goals not sent stay ``pending`` with a
    ``publish_failed`` event, for a later pass, instead of each waiting out the broker's retries; so do
    the attempts ``also_given_up`` returns then (the rest of a larger send, not tried).

    Where the transport batches publishes (kombu's ``Producer.batch``: Redis, from kombu 5.7), the set
    goes out in one pipeline when the batch closes, so a failure then counts the whole set as not sent;
    any of it that did reach the broker is delivered twice at worst, which the attempt fence absorbs.
    """
    if not dispatches:
        return set()
    sent: list[Dispatch] = []
    batched = False
    try:
        with current_app.producer_or_acquire() as producer:
            batched = _batches(producer)
            with producer.batch(max_size=len(dispatches)) if batched else nullcontext():
                for dispatch in dispatches:
                    _publish(dispatch, producer=producer)
                    sent.append(dispatch)
    except (BrokerError, OSError) as exc:
        if batched:
            sent = []
        _journal_publish_failures([*dispatches[len(sent):], *(also_given_up() if also_given_up else [])], exc)
    # A mark is refused only if the worker already started the goal (or someone cancelled it): both fine.
    mark_queued(sent, actor=process_name())
    return {str(d.goal_id) for d in sent}
