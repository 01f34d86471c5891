"""OpenTelemetry traces across a goal's attempts (``goals.tracing``), recorded by the SDK in the suite and in
its real worker (tests/tracing.py): one trace per goal, its children in it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.urls import reverse
from opentelemetry import trace

from goals.api import submit
from tests.conftest import wait_final
from tests.paths import ROOT
from tests.tracing import recorded_spans

pytestmark = pytest.mark.worker

GOAL_ID = "goaltrack.goal.id"


def _spans_of_trace(trace_id: str, *, expected: int, timeout: float = 10.0) -> list[dict]:
    """The trace's spans once ``expected`` of them are written (a worker writes its last as the task returns)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        spans = [span for span in recorded_spans() if span["trace_id"] == trace_id]
        if len(spans) >= expected or time.monotonic() > deadline:
            return spans
        time.sleep(0.1)


def test_a_goal_that_fails_twice_and_succeeds_is_one_trace_under_its_submit(worker, admin_client):
    with trace.get_tracer("tests").start_as_current_span("checkout") as request_span:
        goal = submit("tests.fails_twice")
    trace_id = f"{request_span.get_span_context().trace_id:032x}"
    assert wait_final(goal.id, worker=worker).state == "succeeded"
    assert goal.trace_context["traceparent"].split("-")[1] == trace_id, "the submit's context, stored with the goal"

    spans = _spans_of_trace(trace_id, expected=5)
    [send] = [span for span in spans if span["kind"] == "PRODUCER"]
    assert send["name"] == "tests.fails_twice send"
    assert send["parent_id"] == f"{request_span.get_span_context().span_id:016x}"
    attempts = sorted((span for span in spans if span["kind"] == "CONSUMER"),
                      key=lambda span: span["attributes"]["goaltrack.goal.attempt"])
    assert [span["attributes"]["goaltrack.goal.attempt"] for span in attempts] == [1, 2, 3]
    assert {span["parent_id"] for span in attempts} == {send["span_id"]}, "every attempt under the submit"
    assert all(span["pid"] != send["pid"] for span in attempts), "run by the worker, another process"
    assert [span["links"] for span in attempts] == [[], [send["span_id"]], [send["span_id"]]], (
        "a retry links back to the submit")
    for span in attempts:
        assert span["attributes"][GOAL_ID] == str(goal.id)
        assert span["attributes"]["goaltrack.goal.kind"] == "tests.fails_twice"
    assert [span["attributes"]["goaltrack.goal.state"] for span in attempts] == ["retrying", "retrying",
                                                                                  "succeeded"]
    assert [[name for name, _attributes in span["events"]] for span in attempts] == [
        ["start", "schedule_retry", "exception"], ["start", "schedule_retry", "exception"], ["start", "succeed"]], (
        "each transition, and a failed attempt's exception once")
    assert [span["status"] for span in attempts] == ["ERROR", "ERROR", "UNSET"]
    page = admin_client.get(reverse("admin:goals_goal_change", args=[goal.id]))
    assert trace_id in page.content.decode(), "the goal's page says its trace, to look it up"


def test_a_childs_spans_are_in_its_parents_trace_under_the_parents_attempt(worker):
    parent = submit("tests.family", {"children": 2})
    assert wait_final(parent.id, worker=worker).state == "succeeded"
    trace_id = parent.trace_context["traceparent"].split("-")[1]
    # The parent's send and attempt; the children's send (one, for both) and their two attempts.
    spans = _spans_of_trace(trace_id, expected=5)
    [parent_attempt] = [span for span in spans
                        if span["kind"] == "CONSUMER" and span["attributes"][GOAL_ID] == str(parent.id)]
    [children_send] = [span for span in spans
                       if span["kind"] == "PRODUCER" and span["attributes"]["goaltrack.goal.kind"] == "tests.count"]
    assert children_send["parent_id"] == parent_attempt["span_id"]
    children = [span for span in spans if span["kind"] == "CONSUMER" and span["attributes"][GOAL_ID] != str(parent.id)]
    assert len(children) == 2
    assert {span["parent_id"] for span in children} == {children_send["span_id"]}
    assert {span["attributes"]["goaltrack.goal.kind"] for span in children} == {"tests.count"}


def test_without_opentelemetry_nothing_is_imported_and_a_submit_stores_no_context():
    """In a process where the package cannot be imported: goals.tracing is off, and importing the app's modules
    that trace imports nothing of it."""
    code = """
import sys
sys.modules["opentelemetry"] = None  # as if not installed: any import of it fails
import goals.tracing as tracing
assert not tracing.ENABLED
with tracing.submitting("reports.build", 1) as context:
    assert context is None
assert tracing.start_attempt("id", "reports.build", 1, None) is None
print("off")
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "off", done.stderr
