"""``GET /metrics``: access by mode, and every figure checked against rows planted with explicit timestamps.

The body is read back with prometheus-client's own parser, as a Prometheus server would read it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from celery import states
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_celery_results.models import TaskResult
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.parser import text_string_to_metric_families

from goals.lifecycle.states import GoalState
from goals.metrics import LATENCY_BUCKETS
from goals.models import Action, Cause, EventType, Finding, Goal, GoalEvent, ReconciliationReport
from tests.factories import make_goal, store_task_result

pytestmark = pytest.mark.django_db

NOW = timezone.now
OPEN = override_settings(GOALS_METRICS="open")
# The journal's window takes two: its first id, then its rows; the kinds three (controls, slots, held goals).
QUERIES_PER_SCRAPE = 11

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(**headers: str) -> Samples:
    """The samples of one open scrape, keyed by sample name and labels."""
    response = Client().get("/metrics", headers=headers)
    assert response.status_code == 200, response.content
    return parse(response.content.decode())


def parse(body: str) -> Samples:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(body) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def series(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """Every label set of one sample name, with its value."""
    return {labels: v for (sample_name, labels), v in samples.items() if sample_name == name}


def labelled(**labels: str) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())


def journal(goal: Goal, event: EventType, *, at: datetime, transition: str = "", cause: Cause = Cause.EXECUTOR,
            ) -> GoalEvent:
    return GoalEvent.objects.create(goal=goal, created_at=at, event=event, transition=transition, cause=cause,
                                    attempt=goal.attempt)


def finished_with_latency(latency: float, *, finished_at: datetime, state: GoalState = GoalState.SUCCEEDED) -> Goal:
    """A final goal whose result row was stored ``latency`` seconds before the goal became final."""
    goal = make_goal(state=state)
    store_task_result(goal.task_id, status=states.SUCCESS, result=1, goal_id=goal.id,
                      done_at=finished_at - timedelta(seconds=latency))
    Goal.objects.filter(pk=goal.pk).update(finished_at=finished_at)
    return goal


def report(*, started_at: datetime, dry_run: bool = False, finished: bool = True, findings: dict | None = None,
           actions: dict | None = None, duration: float | None = 0.25) -> ReconciliationReport:
    return ReconciliationReport.objects.create(
        started_at=started_at, finished_at=started_at + timedelta(seconds=1) if finished else None, dry_run=dry_run,
        trigger="schedule", findings_by_kind=findings or {}, actions_by_kind=actions or {},
        duration_seconds=duration if finished else None)


# Access


def test_the_route_is_slash_metrics():
    assert reverse("goals:metrics") == "/metrics"


def test_off_by_default_is_not_found():
    assert Client().get("/metrics").status_code == 404
    with override_settings(GOALS_METRICS="off"):
        assert Client().get("/metrics").status_code == 404
        assert Client().post("/metrics").status_code == 404


@OPEN
def test_open_serves_the_text_format_with_every_family_on_an_empty_database():
    response = Client().get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE_PLAIN_0_0_4
    families = {family.name: family.type for family in text_string_to_metric_families(response.content.decode())}
    assert families == {
        "goaltrack_goals": "gauge", "goaltrack_goals_finished": "gauge",
        "goaltrack_oldest_active_goal_age_seconds": "gauge", "goaltrack_goals_needs_review": "gauge",
        "goaltrack_reconcile_last_pass_timestamp_seconds": "gauge",
        "goaltrack_reconcile_last_pass_duration_seconds": "gauge", "goaltrack_reconcile_findings": "gauge",
        "goaltrack_reconcile_actions": "gauge", "goaltrack_transitions": "gauge", "goaltrack_events_ignored": "gauge",
        "goaltrack_publish_failures": "gauge", "goaltrack_callback_latency_seconds": "histogram",
        "goaltrack_scrape_duration_seconds": "gauge", "goaltrack_goals_held": "gauge",
        "goaltrack_kind_paused": "gauge", "goaltrack_kind_concurrency_limit": "gauge",
        "goaltrack_kind_slots_taken": "gauge",
    }
    samples = parse(response.content.decode())
    assert series(samples, "goaltrack_goals") == {}
    assert value(samples, "goaltrack_oldest_active_goal_age_seconds") == 0
    assert value(samples, "goaltrack_callback_latency_seconds_count") == 0
    assert value(samples, "goaltrack_scrape_duration_seconds") > 0


@OPEN
def test_only_get_and_head_are_allowed():
    assert Client().head("/metrics").status_code == 200
    response = Client().post("/metrics")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


@override_settings(GOALS_METRICS="token", GOALS_METRICS_TOKEN="s3cret-token")
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Bearer s3cret-toke", "Basic s3cret-token",
                                           "s3cret-token", "Bearer "])
def test_token_mode_refuses_a_missing_or_wrong_token(authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = Client().get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"goaltrack" not in response.content


@override_settings(GOALS_METRICS="token", GOALS_METRICS_TOKEN="s3cret-token")
def test_token_mode_serves_the_right_bearer_token():
    samples = scrape(Authorization="Bearer s3cret-token")
    assert value(samples, "goaltrack_goals_needs_review") == 0


@override_settings(GOALS_METRICS="token", GOALS_METRICS_TOKEN="")
def test_token_mode_without_a_token_refuses_everyone():
    # The system check refuses this configuration; the view must not read it as "any empty token will do".
    assert Client().get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


# Figures


@OPEN
def test_goal_counts_per_state_and_kind_and_finished_only_within_the_window():
    for state, kind, n in [(GoalState.PENDING, "report", 1), (GoalState.QUEUED, "report", 2),
                           (GoalState.RUNNING, "report", 3), (GoalState.RUNNING, "export", 1),
                           (GoalState.RETRYING, "export", 2)]:
        for _ in range(n):
            make_goal(state=state, kind=kind)
    for state, kind, n in [(GoalState.SUCCEEDED, "report", 4), (GoalState.FAILED, "export", 1),
                           (GoalState.CANCELLED, "report", 1)]:
        for _ in range(n):
            make_goal(state=state, kind=kind, now=NOW() - timedelta(minutes=50))
    # Final before the window: history, not counted.
    for _ in range(3):
        make_goal(state=GoalState.SUCCEEDED, kind="report", now=NOW() - timedelta(hours=1, minutes=5))
    make_goal(state=GoalState.EXPIRED, kind="export", now=NOW() - timedelta(days=3))

    samples = scrape()

    assert series(samples, "goaltrack_goals") == {
        labelled(state="pending", kind="report"): 1, labelled(state="queued", kind="report"): 2,
        labelled(state="running", kind="report"): 3, labelled(state="running", kind="export"): 1,
        labelled(state="retrying", kind="export"): 2,
    }
    assert series(samples, "goaltrack_goals_finished") == {
        labelled(state="succeeded", kind="report"): 4, labelled(state="failed", kind="export"): 1,
        labelled(state="cancelled", kind="report"): 1,
    }


@OPEN
def test_oldest_active_goal_age_and_goals_needing_review():
    oldest = make_goal(state=GoalState.QUEUED)
    Goal.objects.filter(pk=oldest.pk).update(created_at=NOW() - timedelta(hours=3))
    make_goal(state=GoalState.RUNNING)
    # A final goal is older still, but no longer active.
    old_final = make_goal(state=GoalState.FAILED, needs_review=True)
    Goal.objects.filter(pk=old_final.pk).update(created_at=NOW() - timedelta(days=2))
    make_goal(state=GoalState.RUNNING, needs_review=True)

    samples = scrape()

    age = value(samples, "goaltrack_oldest_active_goal_age_seconds")
    assert 3 * 3600 <= age < 3 * 3600 + 60
    assert value(samples, "goaltrack_goals_needs_review") == 2


@OPEN
def test_reconciler_figures_come_from_the_last_completed_pass_with_every_kind_shown():
    report(started_at=NOW() - timedelta(minutes=30), findings={Finding.STALLED: 9}, actions={Action.REDISPATCHED: 9})
    last = report(started_at=NOW() - timedelta(minutes=5), duration=1.5,
                  findings={Finding.LOST_CALLBACK: 2, Finding.NEVER_SENT: 1},
                  actions={Action.APPLIED_SUCCESS: 1, Action.APPLIED_FAILURE: 1, Action.SENT: 1})
    # Newer, but a dry run, and a pass still running (or dead): neither is the last completed pass.
    report(started_at=NOW() - timedelta(minutes=2), dry_run=True, findings={Finding.OVERDUE: 5})
    report(started_at=NOW() - timedelta(minutes=1), finished=False)

    samples = scrape()

    assert value(samples, "goaltrack_reconcile_last_pass_timestamp_seconds") == pytest.approx(
        last.finished_at.timestamp())
    assert value(samples, "goaltrack_reconcile_last_pass_duration_seconds") == 1.5
    assert series(samples, "goaltrack_reconcile_findings") == {
        labelled(kind=kind): {"lost_callback": 2, "never_sent": 1}.get(kind, 0) for kind in Finding.values}
    assert series(samples, "goaltrack_reconcile_actions") == {
        labelled(action=action): {"applied_success": 1, "applied_failure": 1, "sent": 1}.get(action, 0)
        for action in Action.values}


@OPEN
def test_reconciler_figures_before_any_pass():
    report(started_at=NOW() - timedelta(minutes=1), dry_run=True, findings={Finding.OVERDUE: 5})

    samples = scrape()

    assert value(samples, "goaltrack_reconcile_last_pass_timestamp_seconds") == 0
    assert series(samples, "goaltrack_reconcile_last_pass_duration_seconds") == {}
    assert set(series(samples, "goaltrack_reconcile_findings").values()) == {0}
    assert len(series(samples, "goaltrack_reconcile_findings")) == len(Finding.values)
    assert set(series(samples, "goaltrack_reconcile_actions").values()) == {0}


@OPEN
def test_transitions_refusals_and_publish_failures_within_the_window():
    goal = make_goal(state=GoalState.RUNNING)
    recent, old = NOW() - timedelta(minutes=10), NOW() - timedelta(hours=1, minutes=1)
    # Before the window, and written first: the journal is appended in time order. Not counted.
    journal(goal, EventType.TRANSITION, transition="start", cause=Cause.EXECUTOR, at=old)
    journal(goal, EventType.TRANSITION, transition="fail", cause=Cause.EXECUTOR, at=old)
    journal(goal, EventType.IGNORED, transition="start", at=old)
    journal(goal, EventType.PUBLISH_FAILED, cause=Cause.PUBLISHER, at=old)
    for transition, cause, n in [("enqueue", Cause.PUBLISHER, 3), ("start", Cause.EXECUTOR, 2),
                                 ("succeed", Cause.EXECUTOR, 1), ("succeed", Cause.RECONCILER, 1)]:
        for _ in range(n):
            journal(goal, EventType.TRANSITION, transition=transition, cause=cause, at=recent)
    for _ in range(2):
        journal(goal, EventType.IGNORED, transition="succeed", at=recent)
    journal(goal, EventType.PUBLISH_FAILED, cause=Cause.PUBLISHER, at=recent)
    journal(goal, EventType.FLAGGED, cause=Cause.RECONCILER, at=recent)

    samples = scrape()

    assert series(samples, "goaltrack_transitions") == {
        labelled(transition="enqueue", cause="publisher"): 3, labelled(transition="start", cause="executor"): 2,
        labelled(transition="succeed", cause="executor"): 1, labelled(transition="succeed", cause="reconciler"): 1,
    }
    assert value(samples, "goaltrack_events_ignored") == 2
    assert value(samples, "goaltrack_publish_failures") == 1


@OPEN
def test_callback_latency_histogram_of_goals_finished_within_the_window():
    finished_at = NOW() - timedelta(minutes=20)
    # A result stored after a cancel counts as no delay, never a negative one.
    latencies = {-2.0: GoalState.CANCELLED, 0.03: GoalState.SUCCEEDED, 0.3: GoalState.SUCCEEDED,
                 3.0: GoalState.FAILED, 45.0: GoalState.SUCCEEDED, 1000.0: GoalState.SUCCEEDED}
    for latency, state in latencies.items():
        finished_with_latency(latency, finished_at=finished_at, state=state)
    # Left out: finished before the window; final without a result row; a result row of an earlier attempt;
    # an active goal whose result is stored but whose callback has not arrived yet.
    finished_with_latency(0.5, finished_at=NOW() - timedelta(hours=2))
    make_goal(state=GoalState.SUCCEEDED)
    earlier = make_goal(state=GoalState.FAILED, attempt=2)
    store_task_result(earlier.attempts.get(number=1).task_id, status=states.FAILURE, exc=ValueError("x"),
                      goal_id=earlier.id, done_at=NOW() - timedelta(minutes=30))
    running = make_goal(state=GoalState.RUNNING)
    store_task_result(running.task_id, status=states.SUCCESS, result=1, goal_id=running.id)
    assert TaskResult.objects.count() == 9

    samples = scrape()

    buckets = {float(dict(labels)["le"]): v
               for labels, v in series(samples, "goaltrack_callback_latency_seconds_bucket").items()}
    assert list(buckets) == [*LATENCY_BUCKETS, float("inf")]
    assert buckets == {0.01: 1, 0.05: 2, 0.1: 2, 0.25: 2, 0.5: 3, 1.0: 3, 2.5: 3, 5.0: 4, 10.0: 4, 30.0: 4,
                       60.0: 5, 300.0: 5, float("inf"): 6}
    assert value(samples, "goaltrack_callback_latency_seconds_count") == 6
    assert value(samples, "goaltrack_callback_latency_seconds_sum") == pytest.approx(0.03 + 0.3 + 3 + 45 + 1000)


# Cost


def populate(n: int) -> None:
    """``n`` goals across states and kinds, each with a journal row, final ones with a result row."""
    cycle = [GoalState.PENDING, GoalState.QUEUED, GoalState.RUNNING, GoalState.RETRYING, GoalState.SUCCEEDED,
             GoalState.FAILED, GoalState.CANCELLED, GoalState.EXPIRED]
    for i in range(n):
        state = cycle[i % len(cycle)]
        goal = make_goal(state=state, kind=f"kind-{i % 7}", needs_review=i % 11 == 0)
        journal(goal, EventType.TRANSITION, transition=f"t{i % 5}", cause=Cause.EXECUTOR, at=NOW())
        if goal.is_final:
            store_task_result(goal.task_id, status=states.SUCCESS, result=i, goal_id=goal.id)
    report(started_at=NOW(), findings={Finding.STALLED: n}, actions={Action.REDISPATCHED: n})


def queries_of_one_scrape() -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        scrape()
    return [query["sql"] for query in captured.captured_queries]


@OPEN
def test_a_scrape_runs_the_same_few_queries_whatever_the_number_of_goals():
    populate(5)
    few = queries_of_one_scrape()
    populate(195)
    assert Goal.objects.count() == 200
    many = queries_of_one_scrape()

    assert len(few) == len(many) == QUERIES_PER_SCRAPE, "\n".join(many)



@OPEN
def test_held_goals_paused_kinds_and_limits_are_scraped():
    from goals.api import pause_kind, set_concurrency

    make_goal(state=GoalState.HELD, held_for="slot", kind="tests.limited", limit_key="acme")
    make_goal(state=GoalState.HELD, held_for="pause", kind="tests.noop")
    pause_kind("tests.noop", reason="incident", actor="oncall")
    set_concurrency("tests.limited", 3, actor="oncall")
    samples = parse(Client().get("/metrics").content.decode())
    assert series(samples, "goaltrack_goals_held") == {
        labelled(kind="tests.limited", reason="slot"): 1, labelled(kind="tests.noop", reason="pause"): 1}
    assert series(samples, "goaltrack_kind_paused")[labelled(kind="tests.noop")] == 1
    assert series(samples, "goaltrack_kind_paused")[labelled(kind="tests.limited")] == 0
    assert series(samples, "goaltrack_kind_concurrency_limit")[labelled(kind="tests.limited")] == 3
    assert series(samples, "goaltrack_kind_concurrency_limit")[labelled(kind="tests.limited_kind")] == 1
