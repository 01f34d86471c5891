"""The goal admin at 1,000,000 goals: list pages, detail and overview (and the API and /metrics), timed and
counted, side by side with the same pages as Django's stock ModelAdmin serves them and with
django-celery-results' own admin.

    make bench    # or: .venv/bin/python bench/admin_scale.py [--goals 1000000] [--runs 7]

Builds the goals in the throwaway database ``goaltrack_bench`` (see ``fill.py``: 1% active, 99% history
over 5 kinds, one result row per finished goal), then requests each page through Django's test client
as a superuser, in this process, ``--runs`` times after one warm-up: median milliseconds and the number
of SQL queries per page, and whether any query counted the whole table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any

from fill import BENCH_DB, ROOT, admin_sql, build, server_url

PLAIN_PREFIX = "plain-admin/"


def plain_urlconf() -> Any:
    """The real URLs plus a second admin site where Goal has Django's stock list machinery."""
    from types import ModuleType

    from django.contrib import admin
    from django.urls import include, path

    from goals.models import Goal

    class PlainGoalAdmin(admin.ModelAdmin):
        list_display = ["id", "state", "kind", "owner", "attempt", "created_at", "heartbeat_at", "deadline"]
        list_filter = ["state", "kind", "needs_review"]
        list_select_related = ["owner"]
        date_hierarchy = "created_at"
        search_fields = ["=id", "=idempotency_key", "=task_id"]
        # Not goaltrack's templates (found by model name), which link to goaltrack's own admin views.
        change_list_template = "admin/change_list.html"
        change_form_template = "admin/change_form.html"

    site = admin.AdminSite(name="plain")
    site.register(Goal, PlainGoalAdmin)
    module = ModuleType("bench_urls")
    module.urlpatterns = [path(PLAIN_PREFIX, site.urls), path("", include("config.urls"))]
    return module


def measure(client: Any, url: str, runs: int) -> tuple[float, int, int, str]:
    """Median milliseconds, queries per request, queries that counted without a LIMIT, the slowest query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm-up: templates, plans, caches
    times = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            clock = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - clock) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    full_counts = sum(1 for q in queries.captured_queries if "COUNT(" in q["sql"] and "LIMIT" not in q["sql"])
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
    slowest_text = f"{float(slowest['time']) * 1000:.1f} ms: {' '.join(slowest['sql'].split())[:100]}"
    return statistics.median(times), len(queries.captured_queries), full_counts, slowest_text


def pages(goal_id: str, month: str) -> list[tuple[str, str, str]]:
    """(page, our URL, stock URL or "")."""
    year, mon = month.split("-")
    rows = [
        ("list, unfiltered", "", ""),
        ("list, state=failed", "?state__exact=failed", "?state__exact=failed"),
        ("list, state=running", "?state__exact=running", "?state__exact=running"),
        ("list, kind=bench.kind3", "?kind=bench.kind3", "?kind=bench.kind3"),
        ("list, flagged for review", "?needs_review__exact=1", "?needs_review__exact=1"),
        ("list, one month", f"?created_at__year={year}&created_at__month={int(mon)}",
         f"?created_at__year={year}&created_at__month={int(mon)}"),
        ("list, search by task id", "?q={task_id}", "?q={task_id}"),
    ]
    our = "/admin/goals/goal/"
    plain = f"/{PLAIN_PREFIX}goals/goal/"
    result = [(name, our + query, plain + stock) for name, query, stock in rows]
    result.append(("goal detail", f"{our}{goal_id}/change/", f"{plain}{goal_id}/change/"))
    result.append(("overview", f"{our}overview/", ""))
    result.append(("API status (session)", f"/api/goals/{goal_id}/", ""))
    result.append(("API list, state=failed (session)", "/api/goals/?state=failed", ""))
    result.append(("/metrics", "/metrics", ""))
    result.append(("django-celery-results TaskResult list", "/admin/django_celery_results/taskresult/", ""))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goals", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    started = time.perf_counter()
    admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    admin_sql(f"CREATE DATABASE {BENCH_DB}")
    os.environ.update(DATABASE_URL=server_url(BENCH_DB), DJANGO_SETTINGS_MODULE="config.settings.test")
    os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    os.environ.setdefault("GOALS_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connections
    from django.test import Client
    from django.utils import timezone

    from goals.conf import goal_settings
    from goals.models import Goal

    settings.ROOT_URLCONF = plain_urlconf()
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.GOALS_METRICS = "open"
    goal_settings.cache_clear()
    rows = []
    try:
        call_command("migrate", verbosity=0)
        built = build(args.goals, timezone.now(), kinds=5)
        print(f"{args.goals:,} goals built in {built:.1f}s", flush=True)
        client = Client()
        client.force_login(User.objects.create_superuser("bench", password="unused"))
        goal = Goal.objects.final().order_by("-created_at")[1000]
        month = timezone.localtime(goal.created_at).strftime("%Y-%m")
        for name, ours, stock in pages(str(goal.pk), month):
            ours, stock = (url.replace("{task_id}", goal.task_id) for url in (ours, stock))
            our_ms, our_queries, our_full, slowest = measure(client, ours, args.runs)
            stock_ms, stock_queries, stock_full, _ = measure(client, stock, args.runs) if stock else (None,) * 4
            rows.append((name, our_ms, our_queries, our_full, stock_ms, stock_queries, stock_full))
            print(f"  {name}: {our_ms:.1f} ms; slowest query {slowest}", flush=True)
    finally:
        connections.close_all()
        admin_sql(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")

    print(f"\n{args.goals:,} goals, median of {args.runs} runs, milliseconds per page"
          " (queries; COUNTs without a LIMIT)\n")
    print("| page | goaltrack | queries | unbounded counts | stock ModelAdmin | queries | unbounded counts | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for name, our_ms, our_q, our_full, stock_ms, stock_q, stock_full in rows:
        stock = (f"{stock_ms:.1f} | {stock_q} | {stock_full} | x{stock_ms / our_ms:.1f}" if stock_ms is not None
                 else "- | - | - | -")
        print(f"| {name} | {our_ms:.1f} | {our_q} | {our_full} | {stock} |")
    print(f"\nratio = stock time / goaltrack time, same run; total {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
