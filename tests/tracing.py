"""The suite's OpenTelemetry SDK: every span the test process and its workers end is written, as a JSON line,
to a file per process in ``GOALS_TEST_SPANS`` (set by the test settings, inherited by the worker), for the
tracing tests to read back whichever process made it."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult


class SpansToFiles(SpanExporter):
    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / f"{os.getpid()}.jsonl", "a") as out:
            for span in spans:
                out.write(json.dumps(span_record(span)) + "\n")
        return SpanExportResult.SUCCESS


def span_record(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    return {"name": span.name, "kind": span.kind.name, "trace_id": f"{context.trace_id:032x}",
            "span_id": f"{context.span_id:016x}", "parent_id": f"{span.parent.span_id:016x}" if span.parent else None,
            "attributes": dict(span.attributes or {}), "status": span.status.status_code.name,
            "events": [[event.name, dict(event.attributes or {})] for event in span.events],
            "links": [f"{link.context.span_id:016x}" for link in span.links], "pid": os.getpid()}


def record_spans(folder: str) -> None:
    """The SDK as a project would configure it, exporting to ``folder``; once per process."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(SpansToFiles(folder)))
    trace.set_tracer_provider(provider)


def recorded_spans() -> list[dict[str, Any]]:
    folder = Path(os.environ["GOALS_TEST_SPANS"])
    return [json.loads(line) for path in sorted(folder.glob("*.jsonl")) for line in path.read_text().splitlines()]
