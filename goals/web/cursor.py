"""Opaque, signed cursors for keyset pagination of goals, newest first, on (created_at, id).

A keyset page costs the same on page 1000 as on page 1 (an OFFSET would read and drop every earlier
row), and a goal submitted while a client pages through is never shown twice. The cursor is signed so
that a tampered one is refused instead of silently starting somewhere else.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.core import signing
from django.db.models import Q

from goals.models import Goal
from goals.querysets import GoalQuerySet

SALT = "goals.web.cursor"


class BadCursor(ValueError):
    """The cursor was not made by ``cursor_after``, or was altered."""


def cursor_after(goal: Goal) -> str:
    """The cursor of the page that follows ``goal``."""
    # isoformat keeps microseconds: a cursor rounded to milliseconds would skip or repeat goals.
    return signing.dumps([goal.created_at.isoformat(), str(goal.pk)], salt=SALT, compress=False)


def page_after(goals: GoalQuerySet, cursor: str) -> GoalQuerySet:
    """``goals`` that come after the cursor, in the order ``-created_at, -id``; ``BadCursor`` if it is not ours."""
    try:
        created_text, id_text = signing.loads(cursor, salt=SALT)
        created_at, goal_id = datetime.fromisoformat(created_text), uuid.UUID(id_text)
    except (signing.BadSignature, TypeError, ValueError) as exc:
        raise BadCursor(str(exc)) from None
    # The redundant ``created_at <= ...`` gives the planner a range on the (…, created_at) indexes;
    # the OR alone would leave it filtering row by row.
    return goals.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=goal_id),
                        created_at__lte=created_at)
