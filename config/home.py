"""The example project's front page: where to go from ``/`` (Django's debug 404 told a newcomer nothing)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from goals.conf import goal_settings


def home(request: HttpRequest) -> HttpResponse:
    links = [
        ("Goals, live", reverse("goals:goal-list-page"),
         "your goals (staff: everyone's), newest first, updating as they run; each links to its own page"),
        ("Goals, in the admin", reverse("admin:goals_goal_changelist"),
         "review every goal: state, attempts, journal; retry, cancel, acknowledge"),
        ("Reconciliation reports", reverse("admin:goals_reconciliationreport_changelist"),
         "what each reconciler pass found and repaired"),
        ("API schema", reverse("goals:goal-api-schema"), "the JSON API, as OpenAPI 3.1"),
    ]
    if goal_settings().metrics != "off":  # off, /metrics answers 404: no link to it
        links.append(("Metrics", reverse("goals:metrics"), "Prometheus metrics of goals and passes"))
    return render(request, "home.html", {"links": links})
