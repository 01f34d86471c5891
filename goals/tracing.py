"""OpenTelemetry traces that follow a goal through every attempt, when the OpenTelemetry API is installed
(``pip install "goaltrack[otel]"``); without it nothing here imports it and every function returns at once.

A submit is a ``PRODUCER`` span (``<kind> send``), a child of whatever span the submitting code is in; its
context is stored with the goal (``Goal.trace_context``, W3C ``traceparent``/``tracestate``), so every
attempt's execution, in whichever worker and however much later, is a ``CONSUMER`` span (``<kind> process``)
under it: one trace for the goal's whole life. An attempt after the first (a retry, a resend by the
reconciler, a redelivery) also links to the submit, as OpenTelemetry's messaging conventions link a
redelivered message's processing to its creation. Children are submitted from inside their parent's attempt
span, so their spans are in their parent's trace. An attempt's span carries the goal's id, kind and attempt,
each transition the worker made as an event, and the state the goal was left in.

Spans are made through the global tracer provider: a project that configures the OpenTelemetry SDK (as it
would for Django and Celery) gets them; with the API alone they are no-ops and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any
from uuid import UUID

try:
    from opentelemetry import propagate, trace
    from opentelemetry.trace import Link, SpanKind, StatusCode
except ImportError:  # the extra is not installed: tracing is off, at no cost
    trace = None

ENABLED = trace is not None
TRACER_NAME = "goaltrack"

GOAL_ID, GOAL_KIND, GOAL_ATTEMPT, GOAL_STATE = ("goaltrack.goal.id", "goaltrack.goal.kind", "goaltrack.goal.attempt",
                                                "goaltrack.goal.state")


# Made once: before the project sets its provider, the API hands out a proxy that uses the provider once set.
_TRACER = trace.get_tracer(TRACER_NAME) if ENABLED else None


@contextmanager
def submitting(kind: str, count: int, goal_id: UUID | str | None = None) -> Iterator[dict[str, str] | None]:
    """While goals of ``kind`` are submitted: the submit's span, current, and its context to store with them
    (None when nothing records spans)."""
    if not ENABLED:
        yield None
        return
    attributes: dict[str, Any] = {GOAL_KIND: kind, "messaging.operation.type": "send",
                                  "messaging.batch.message_count": count}
    if goal_id is not None:
        attributes[GOAL_ID] = str(goal_id)
    with _TRACER.start_as_current_span(f"{kind} send", kind=SpanKind.PRODUCER, attributes=attributes):
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        yield carrier or None


def start_attempt(goal_id: UUID | str, kind: str, attempt: int, trace_context: dict[str, str] | None) -> Any:
    """The span of an attempt's execution, under the submit's context stored with the goal; None when tracing
    is off. The caller ends it (``end_attempt``)."""
    if not ENABLED:
        return None
    parent = propagate.extract(trace_context or {})
    submitted = trace.get_current_span(parent).get_span_context()
    links = [Link(submitted, {"goaltrack.link": "submit"})] if attempt > 1 and submitted.is_valid else None
    span = _TRACER.start_span(
        f"{kind} process", context=parent, kind=SpanKind.CONSUMER, links=links,
        attributes={GOAL_ID: str(goal_id), GOAL_KIND: kind, GOAL_ATTEMPT: attempt,
                    "messaging.operation.type": "process"})
    span.add_event("start", {GOAL_ATTEMPT: attempt})
    return span


def current(span: Any) -> Any:
    """A context manager making ``span`` current while the executor runs (what it logs, calls and spawns is
    under it); nothing when tracing is off. An exception is recorded once, by the hook that ends the attempt
    (``transition``), not again on its way out."""
    if span is None:
        return nullcontext()
    return trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False)


def transition(span: Any, name: str, state: str, error: BaseException | None = None) -> None:
    """Record on the attempt's span a transition the worker made and the state it left the goal in."""
    if span is None:
        return
    span.add_event(name, {GOAL_STATE: str(state)})
    span.set_attribute(GOAL_STATE, str(state))
    if error is not None:
        span.record_exception(error)
        span.set_status(StatusCode.ERROR, f"{type(error).__name__}: {error}")


def trace_id_of(trace_context: dict[str, str] | None) -> str:
    """The trace id a goal's stored context names (32 hex digits, what a tracing UI searches by), or ""."""
    parts = (trace_context or {}).get("traceparent", "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else ""


def end_attempt(span: Any) -> None:
    if span is not None:
        span.end()
