"""The live progress page: what a person sees while their goal runs.

The page renders the goal's current state on the server (it reads fine without JavaScript), then polls
the JSON status endpoint, which answers ``304`` while nothing changed, and stops once the goal is final.
"""

from __future__ import annotations

import json
import uuid

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from goals.models import Goal
from goals.querysets import FINAL_VALUES

POLL_INTERVAL_MS = 1000


@require_safe
@login_required
def goal_progress_page(request: HttpRequest, goal_id: str) -> HttpResponse:
    """Owner or staff only; anyone else, an unknown id and a malformed one all get the same 404."""
    try:
        pk = uuid.UUID(goal_id)
    except ValueError:
        raise Http404("no such goal") from None
    goal = Goal.objects.visible_to(request.user).filter(pk=pk).first()
    if goal is None:
        raise Http404("no such goal")
    return render(request, "goals/progress.html", {
        "goal": goal,
        "percent": goal.progress_percent,
        "result_json": json.dumps(goal.result, indent=2) if goal.result is not None else "",
        "status_url": reverse("goals:goal-status", args=[goal.pk]),
        "final_states": list(FINAL_VALUES),
        "poll_interval_ms": POLL_INTERVAL_MS,
    })
