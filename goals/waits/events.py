"""Goals that wait for an outside event, holding no worker, and the events that resume them.

    @executor("orders.await_payment")
    def await_payment(ctx, *, order_id):
        request_capture(order_id)
        return ctx.wait_for_event("payment.captured", key=f"order:{order_id}",
                                  timeout=72 * 3600, then="orders.ship")

    @executor("orders.ship")
    def ship(ctx, *, order_id):                        # the same goal, its next attempt
        if ctx.event is None:                           # the deadline came first
            return cancel_order(order_id)
        return ship_order(order_id, ctx.event.payload["amount"])

    send_event("payment.captured", {"amount": 1200}, key="order:42", event_key=webhook_id)

The wait is the ``await_event`` move: the goal is ``waiting`` with the event's name, the correlation key and
the deadline (``run_after``, released as a start time is: ``goals.submitting.timers``). An event is a row
(``ExternalEvent``), kept until a waiting goal consumes it: the ``resume`` move consumes it in the same
statement that moves the goal on (``move_goals``), fenced on the goal's state and attempt, so two events, or
an event and the deadline, never resume a goal twice. An event that arrives before the wait is kept, and
the wait consumes it as it begins. A sender's ``event_key`` makes its retries one event. The arrival and a
wait on the same address take one advisory lock (``lock_event_addresses``), so that whichever comes second
sees the other: an event sent as its goal begins to wait is never missed by both.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import transaction

from goals.actors import process_name
from goals.conf import goal_settings
from goals.exceptions import GoalNotFound, GoalValidationError
from goals.ids import new_task_id
from goals.lifecycle import store
from goals.lifecycle.states import AWAIT_EVENT, RESUME, TIME_OUT
from goals.lifecycle.transitions import TransitionOutcome
from goals.models import Cause, ExternalEvent, Goal
from goals.submitting.moves import move, move_claimed

EVENT_NAME = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
# Waits timed out per transaction: one claim and one move each.
BATCH_SIZE = 1_000


@dataclass(frozen=True)
class WaitForEvent:
    """What ``ctx.wait_for_event()`` returns, for the executor to return in turn."""

    name: str
    key: str | None
    until: datetime | None
    then: str


@dataclass(frozen=True)
class SentEvent:
    """What sending an event did: its id, whether a sender's retry had sent it already (``duplicate``), and
    the goal it resumed, if one was waiting for it."""

    id: int
    duplicate: bool
    resumed: UUID | None


def goal_address(goal_id: UUID | str) -> str:
    return f"goal:{goal_id}"


def key_address(name: str, key: str) -> str:
    return f"event:{name}:{key}"


def check_name(name: Any, field: str = "name") -> str:
    if not isinstance(name, str) or not EVENT_NAME.match(name) or len(name) > 100:
        raise GoalValidationError({field: "an event name is dotted lowercase words of at most 100 characters, "
                                          "e.g. payment.captured"}, code="invalid")
    return name


def check_key(key: Any, field: str = "key") -> str | None:
    if key is not None and (not isinstance(key, str) or not key or len(key) > 255):
        raise GoalValidationError({field: "must be a string of 1 to 255 characters"}, code="invalid")
    return key


def send_event(*, name: str, payload: Any = None, key: str | None = None, goal_id: UUID | str | None = None,
               event_key: str | None = None, owner_id: int | None = None, actor: str = "") -> SentEvent:
    """Record an outside event and resume the goal waiting for it, if one is, in one transaction.

    Addressed by ``goal_id`` or by ``key``, the correlation key a wait declared (one of them); a goal takes
    it only if it is ``owner_id``'s (None: any goal, for the system and staff). Raises
    ``GoalValidationError`` naming the field at fault, ``GoalNotFound`` for a goal id that names no goal;
    nothing is written then.
    """
    check_name(name)
    check_key(key)
    check_key(event_key, "event_key")
    if (key is None) == (goal_id is None):
        raise GoalValidationError({"key": "address the event by key or by goal_id, one of them"}, code="invalid")
    encoded = _payload(payload)
    if goal_id is not None and not Goal.objects.filter(pk=goal_id).exists():
        raise GoalNotFound(goal_id)
    with transaction.atomic():
        store.lock_event_addresses([goal_address(goal_id) if goal_id is not None else key_address(name, key or "")])
        event_id, new, waiting, attempt = store.record_event(name=name, key=key, goal_id=goal_id, owner_id=owner_id,
                                                             payload=encoded, event_key=event_key)
        resumed = None
        if waiting is not None:
            outcome = move(RESUME, goal_id=waiting, attempt=attempt, cause=Cause.EVENT, actor=actor,
                           new_task_id=new_task_id(), event_id=event_id, details={"event": event_id, "name": name})
            resumed = waiting if outcome.applied else None
    return SentEvent(id=event_id, duplicate=not new, resumed=resumed)


def _payload(payload: Any) -> str:
    try:
        encoded = json.dumps({} if payload is None else payload, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise GoalValidationError({"payload": f"must be JSON: {exc}"}, code="invalid") from exc
    limit = goal_settings().event_max_payload_bytes
    if len(encoded.encode()) > limit:
        raise GoalValidationError({"payload": f"is larger than {limit} bytes (GOALS_EVENT_MAX_PAYLOAD_BYTES)"},
                                  code="invalid")
    return encoded


def await_event(*, goal_id: str, attempt: int, task_id: str, worker: str, wait: WaitForEvent,
                budget: int) -> TransitionOutcome:
    """The worker's end of an attempt that waits for ``wait``: the goal ``waiting``, holding no worker, with
    a fresh budget of ``budget`` attempts for what follows; resumed at once by an event that came before."""
    addresses = [goal_address(goal_id), *([key_address(wait.name, wait.key)] if wait.key else [])]
    details = {"event": wait.name, "key": wait.key, "until": wait.until.isoformat() if wait.until else None}
    with transaction.atomic():
        store.lock_event_addresses(addresses)
        outcome = move(AWAIT_EVENT, goal_id=goal_id, attempt=attempt, cause=Cause.EXECUTOR, actor=worker,
                       caller_task_id=task_id, journal_refusal=True, budget=budget, continuation=wait.then,
                       wait_event=wait.name, wait_key=wait.key, run_after=wait.until, details=details)
        if not outcome.applied:
            return outcome
        early = store.claim_early_event(name=wait.name, goal_id=goal_id, key=wait.key)
        if early is not None:
            move(RESUME, goal_id=goal_id, attempt=outcome.attempt, cause=Cause.EVENT, actor=worker,
                 new_task_id=new_task_id(), event_id=early,
                 details={"event": early, "name": wait.name, "arrived": "before the wait"})
    return outcome


def time_out_waits(*, batch_size: int = BATCH_SIZE) -> int:
    """Move on every goal whose wait for an event passed its deadline, a batch per transaction: its next
    attempt runs the continuation without the event. Returns how many."""
    return move_claimed(TIME_OUT, lambda limit: store.claim_expired_waits(limit=limit), batch_size=batch_size,
                        cause=Cause.PUBLISHER, actor=process_name(), opens_attempt=True)


@dataclass(frozen=True)
class EventReceived:
    """The event a continuation was resumed by (``ctx.event``)."""

    id: int
    name: str
    key: str | None
    payload: Any
    received_at: datetime


def event_of(goal_id: UUID | str, attempt: int) -> EventReceived | None:
    """The event that opened attempt ``attempt`` of the goal, or None (its wait's deadline came first)."""
    event = ExternalEvent.objects.filter(consumed_by_id=goal_id, consumed_attempt=attempt).first()
    if event is None:
        return None
    return EventReceived(id=event.pk, name=event.name, key=event.correlation_key, payload=event.payload,
                         received_at=event.received_at)
