"""``GET /metrics``: the goals, the journal and the reconciler in the Prometheus text format.

Every figure is read from the database at scrape time by one collector on a private registry, so any
web process gives the same answer and nothing is lost when a process restarts. A scrape runs a fixed
handful of queries whose cost follows the active goals and the last ``WINDOW`` of history (partial
indexes on active and final goals, the tail of the journal's primary key), never the whole history.

Figures over the window are gauges recomputed at every scrape, not running counters: graph them as
they are; ``rate()`` and ``increase()`` do not apply, and ``histogram_quantile()`` takes the latency
buckets directly.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseNotFound
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from goals import selectors
from goals.conf import goal_settings
from goals.models import Action, EventType, Finding

# Responses are labelled as the classic text format that generate_latest writes, as prometheus_client's
# own server labels them: every Prometheus 2.x and 3.x server reads it.

WINDOW = timedelta(hours=1)
"""Span of the windowed figures (finished goals, transitions, refusals, publish failures, latency)."""
LATENCY_BUCKETS: tuple[float, ...] = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
"""Upper bounds of the callback latency buckets, in seconds (``+Inf`` is added)."""

# Help texts name the window, so a dashboard reader knows what a figure spans.
_IN_WINDOW = f"in the last {WINDOW.total_seconds() / 60:g} minutes"


def _families() -> dict[str, Metric]:
    """Every family the collector emits, empty: the one list of names, types, labels and help texts."""
    families: list[Metric] = [
        GaugeMetricFamily("goaltrack_goals", "Active (not final) goals, per state and kind.",
                          labels=["state", "kind"]),
        GaugeMetricFamily("goaltrack_goals_finished",
                          f"Goals that became final {_IN_WINDOW}, per final state and kind.", labels=["state", "kind"]),
        GaugeMetricFamily("goaltrack_goals_held",
                          "Goals held, holding no worker, per kind and reason: 'slot' (its concurrency limit is "
                          "reached), 'rate' (its turn under its kind's rate is to come) or 'pause' (an operator "
                          "paused its kind).", labels=["kind", "reason"]),
        GaugeMetricFamily("goaltrack_kind_paused", "1 for a kind an operator paused, else 0; per registered kind.",
                          labels=["kind"]),
        GaugeMetricFamily("goaltrack_kind_concurrency_limit",
                          "The concurrency limit in force (per key, for a kind limited per key); limited kinds only.",
                          labels=["kind"]),
        GaugeMetricFamily("goaltrack_kind_slots_taken",
                          "Slots of a kind's concurrency limit taken (summed over its keys); limited kinds only.",
                          labels=["kind"]),
        GaugeMetricFamily("goaltrack_oldest_active_goal_age_seconds",
                          "Seconds since the oldest active goal was created; 0 when no goal is active."),
        GaugeMetricFamily("goaltrack_goals_needs_review",
                          "Goals flagged for a person to review and not yet acknowledged."),
        GaugeMetricFamily("goaltrack_reconcile_last_pass_timestamp_seconds",
                          "Unix time the last completed reconciler pass (not a dry run) ended; 0 if none ever did."),
        GaugeMetricFamily("goaltrack_reconcile_last_pass_duration_seconds",
                          "Duration of the last completed reconciler pass (absent if none ever did)."),
        GaugeMetricFamily("goaltrack_reconcile_findings", "Findings of the last completed reconciler pass, per kind.",
                          labels=["kind"]),
        GaugeMetricFamily("goaltrack_reconcile_actions",
                          "Actions the last completed reconciler pass took, per action.", labels=["action"]),
        GaugeMetricFamily("goaltrack_transitions", f"Goal state transitions {_IN_WINDOW}, per transition and cause.",
                          labels=["transition", "cause"]),
        GaugeMetricFamily("goaltrack_events_ignored",
                          f"Callbacks and requests refused (late, duplicate or not allowed) {_IN_WINDOW}."),
        GaugeMetricFamily("goaltrack_publish_failures",
                          f"Failed publishes to the broker {_IN_WINDOW}; the reconciler sends those goals again."),
        HistogramMetricFamily(
            "goaltrack_callback_latency_seconds",
            f"Delay from a task's result row to the goal becoming final, for goals finished {_IN_WINDOW} that"
            " have a result row. With django-db the final transition writes both at once (0); a delay is a goal"
            " the reconciler repaired from a row written otherwise, or a result backend that stores rows itself."
            " Recomputed over the window at each scrape, not a running counter: no rate().", labels=[]),
        GaugeMetricFamily("goaltrack_scrape_duration_seconds", "Seconds this scrape took to read the figures."),
    ]
    return {family.name: family for family in families}


class GoalCollector:
    """Reads every figure from the database when the registry collects (no state between scrapes)."""

    def describe(self) -> Iterator[Metric]:
        # Lets the registry learn the names at registration without touching the database.
        yield from _families().values()

    def collect(self) -> Iterator[Metric]:
        clock = time.perf_counter()
        now = timezone.now()
        since = now - WINDOW
        families = _families()
        _collect_goals(families, now=now, since=since)
        _collect_kinds(families)
        _collect_reconciler(families)
        _collect_events(families, since=since)
        _collect_latency(families, since=since)
        families["goaltrack_scrape_duration_seconds"].add_metric([], time.perf_counter() - clock)
        yield from families.values()


def _collect_goals(families: dict[str, Metric], *, now: datetime, since: datetime) -> None:
    for row in selectors.goal_active_counts():
        families["goaltrack_goals"].add_metric([row.state, row.kind], row.count)
    for row in selectors.goal_finished_counts(since=since):
        families["goaltrack_goals_finished"].add_metric([row.state, row.kind], row.count)
    oldest = selectors.goal_oldest_active_created_at()
    age = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
    families["goaltrack_oldest_active_goal_age_seconds"].add_metric([], age)
    families["goaltrack_goals_needs_review"].add_metric([], selectors.goal_needs_review_count())


def _collect_kinds(families: dict[str, Metric]) -> None:
    for status in selectors.kind_statuses():
        for reason, count in (("slot", status.held_for_slot), ("rate", status.held_for_rate),
                              ("pause", status.held_for_pause)):
            if count:
                families["goaltrack_goals_held"].add_metric([status.kind, reason], count)
        families["goaltrack_kind_paused"].add_metric([status.kind], 1 if status.paused else 0)
        if status.limit is not None:
            families["goaltrack_kind_concurrency_limit"].add_metric([status.kind], status.limit)
            families["goaltrack_kind_slots_taken"].add_metric([status.kind], status.running)


def _collect_reconciler(families: dict[str, Metric]) -> None:
    report = selectors.report_latest_finished()
    findings = report.findings_by_kind if report else {}
    actions = report.actions_by_kind if report else {}
    families["goaltrack_reconcile_last_pass_timestamp_seconds"].add_metric(
        [], report.finished_at.timestamp() if report else 0.0)
    if report and report.duration_seconds is not None:
        families["goaltrack_reconcile_last_pass_duration_seconds"].add_metric([], report.duration_seconds)
    # Every known kind and action, zero when absent, so a dashboard's series do not come and go; a kind
    # an older version recorded is still shown.
    for kind in sorted({*Finding.values, *findings}):
        families["goaltrack_reconcile_findings"].add_metric([kind], findings.get(kind, 0))
    for action in sorted({*Action.values, *actions}):
        families["goaltrack_reconcile_actions"].add_metric([action], actions.get(action, 0))


def _collect_events(families: dict[str, Metric], *, since: datetime) -> None:
    ignored = publish_failures = 0
    for row in selectors.goal_event_counts(since=since):
        if row.event == EventType.TRANSITION:
            families["goaltrack_transitions"].add_metric([row.transition, row.cause], row.count)
        elif row.event == EventType.IGNORED:
            ignored += row.count
        elif row.event == EventType.PUBLISH_FAILED:
            publish_failures += row.count
    families["goaltrack_events_ignored"].add_metric([], ignored)
    families["goaltrack_publish_failures"].add_metric([], publish_failures)


def _collect_latency(families: dict[str, Metric], *, since: datetime) -> None:
    histogram = selectors.goal_callback_latency(since=since, bounds=LATENCY_BUCKETS)
    buckets = [(floatToGoString(bound), count) for bound, count in zip(histogram.bounds, histogram.buckets,
                                                                        strict=True)]
    buckets.append(("+Inf", histogram.count))
    families["goaltrack_callback_latency_seconds"].add_metric([], buckets, histogram.sum)


registry = CollectorRegistry(auto_describe=False)
"""Private to this module: the process-wide default registry would add this process's own figures,
which differ from one web process to the next."""
registry.register(GoalCollector())


def _authorized(request: HttpRequest, token: str) -> bool:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    # An empty token (refused by the system check) must never match an empty credential.
    return (bool(token) and scheme.lower() == "bearer"
            and hmac.compare_digest(credentials.strip().encode(), token.encode()))


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Serve the figures if ``GOALS_METRICS`` allows it: ``off`` 404, ``open`` to anyone, ``token`` to a
    client sending ``Authorization: Bearer <GOALS_METRICS_TOKEN>`` (401 otherwise)."""
    config = goal_settings()
    if config.metrics not in ("open", "token"):
        return HttpResponseNotFound()
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    if config.metrics == "token" and not _authorized(request, config.metrics_token):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain; charset=utf-8")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    response = HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response
