"""goaltrack for the fan-in benchmark: its goals (the children a worker spawns too) on the run's own queue."""

import os

from config.settings.base import *  # noqa: F403

GOALS_TASK_QUEUE = os.environ["GOALS_TASK_QUEUE"]
# The release of goals that start later (beat's entry and its timers), on that queue too (bench/deferred.py).
CELERY_TASK_ROUTES = {"goals.release": {"queue": GOALS_TASK_QUEUE}}
# Django's tasks as goals (bench/task_backend.py): the default queue is GOALS_TASK_QUEUE.
TASKS = {"default": {"BACKEND": "goals.tasking.GoalTaskBackend", "OPTIONS": {"max_attempts": 1}}}

# bench/tracing.py: with BENCH_TRACING=1 the workers record every span goaltrack makes (goals.tracing) with the
# OpenTelemetry SDK, batched as a project would export them, to an exporter that drops them.
if os.environ.get("BENCH_TRACING") == "1":
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class _Dropped(SpanExporter):
        def export(self, spans):
            return SpanExportResult.SUCCESS

    _provider = TracerProvider()
    _provider.add_span_processor(BatchSpanProcessor(_Dropped()))
    trace.set_tracer_provider(_provider)
