"""The live pages: a person's goals, and one goal, as they run.

Both render on the server (they read fine without JavaScript), then poll the JSON API, which answers
``304`` while nothing they show changed, and stop once what they show is final. Each page polls with
one request, whatever it shows: the goal page its goal's status, the list page the list endpoint
asked for the ids of its rows that are not final yet.
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from goals.executors.registry import registered_kinds
from goals.families.children import first_children
from goals.lifecycle.states import GoalState
from goals.models import Goal
from goals.palette import STATE_COLOURS, UNKNOWN_STATE_COLOUR
from goals.querysets import FINAL_VALUES
from goals.web import inputs
from goals.web.cursor import BadCursor
from goals.web.http import ApiError
from goals.web.listing import goal_page
from goals.web.serialize import family_json

POLL_INTERVAL_MS = 1000
# The list page's polls slow down by this factor while nothing on it changes, up to the longest delay.
POLL_BACKOFF = 1.5
POLL_MAX_INTERVAL_MS = 15_000


def _render(request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    return render(request, template, {
        "state_colours": STATE_COLOURS,
        "unknown_state_colour": UNKNOWN_STATE_COLOUR,
        "final_states": list(FINAL_VALUES),
        "poll": {"interval_ms": POLL_INTERVAL_MS, "backoff": POLL_BACKOFF, "max_interval_ms": POLL_MAX_INTERVAL_MS},
        **context,
    }, status=status)


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
    page_url = reverse("goals:goal-list-page")
    return _render(request, "goals/progress.html", {
        "goal": goal,
        "family": family_json(goal),
        # The first children by key, linked to their own pages; all of them in the list page.
        "children": first_children(goal.pk) if goal.children_total else [],
        "children_url": f"{page_url}?{urlencode({'parent': goal.pk})}",
        "percent": goal.progress_percent,
        "result_json": json.dumps(goal.result, indent=2) if goal.result is not None else "",
        "status_url": reverse("goals:goal-status", args=[goal.pk]),
        "list_page_url": page_url,
    })


@require_safe
@login_required
def goal_list_page(request: HttpRequest) -> HttpResponse:
    """The signed-in user's goals (staff: everyone's, filterable by owner), newest first, a page at a time.

    Takes the list API's query parameters, checked by the same rules: a bad one answers 400 with the
    problem shown above an empty table.
    """
    staff = request.user.is_staff
    page_url = reverse("goals:goal-list-page")
    context: dict[str, Any] = {
        "staff": staff,
        "states": GoalState.values,
        "kinds": registered_kinds(),
        "page_url": page_url,
        "poll_url": reverse("goals:goal-list"),
        "goals": [],
        "query": {name: request.GET.get(name, "") for name in ("state", "kind", "owner", "parent")},
        "filtered": any(request.GET.get(name) for name in ("state", "kind", "owner", "parent", "id")),
    }
    try:
        query = inputs.list_query(request.GET, staff=staff)
        page = goal_page(request.user, query, with_owner=staff)
    except ApiError as exc:
        return _render(request, "goals/goal_list.html", {**context, "errors": exc.details.get("fields", {})},
                       status=exc.status)
    except BadCursor:
        return _render(request, "goals/goal_list.html", {
            **context, "errors": {"cursor": ["not a link this page gave out (malformed or altered)"]}}, status=400)
    return _render(request, "goals/goal_list.html", {
        **context,
        "goals": page.goals,
        "older_url": f"{page_url}?{urlencode(query.as_params(cursor=page.next_cursor))}" if page.next_cursor else None,
        "newest_url": f"{page_url}?{urlencode(query.as_params(cursor=None))}" if query.cursor else None,
    })
