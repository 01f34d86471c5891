"""The trace id a goal's stored trace context names (``goals.tracing.trace_id_of``), shown in the admin."""

from goals.tracing import trace_id_of


def test_the_trace_id_is_read_from_the_traceparent():
    context = {"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    assert trace_id_of(context) == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_no_context_or_a_malformed_one_names_no_trace():
    assert trace_id_of(None) == ""
    assert trace_id_of({}) == ""
    assert trace_id_of({"traceparent": "garbage"}) == ""
