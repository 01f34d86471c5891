"""Which goals a person lists, and in what order: one rule for the JSON list and the ``/goals/`` page.

Newest first on ``(created_at, id)``, a page at a time through a keyset cursor, filtered by state, kind,
owner (staff only: ``goals.web.inputs`` refuses it otherwise), parent and goal ids, and never beyond what the
user may see (``GoalQuerySet.visible_to``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from goals.models import Goal
from goals.web.cursor import cursor_after, page_after
from goals.web.inputs import ListQuery


@dataclass(frozen=True)
class GoalPage:
    goals: list[Goal]
    next_cursor: str | None


def goal_page(user: Any, query: ListQuery, *, with_owner: bool = False) -> GoalPage:
    """One page of the goals ``user`` may see that match ``query``: one query, whatever the history.
    ``with_owner`` joins each goal's owner into it, for a page that shows them (the API shows none).

    Raises ``goals.web.cursor.BadCursor`` for a cursor this app did not give out.
    """
    goals = Goal.objects.visible_to(user)
    if query.state:
        goals = goals.in_state(query.state)
    if query.kind:
        goals = goals.filter(kind=query.kind)
    if query.owner:
        goals = goals.filter(**{f"owner__{get_user_model().USERNAME_FIELD}": query.owner})
    if query.ids:
        goals = goals.filter(pk__in=query.ids)
    if query.parent:
        goals = goals.filter(parent_id=query.parent)
    if query.cursor:
        goals = page_after(goals, query.cursor)
    # One row more than the page tells whether there is a next page, without a COUNT.
    if with_owner:
        goals = goals.select_related("owner")
    rows = list(goals.order_by("-created_at", "-pk")[: query.limit + 1])
    page = rows[: query.limit]
    return GoalPage(goals=page, next_cursor=cursor_after(page[-1]) if len(rows) > query.limit else None)
