"""What keeps the goal list fast on a table of millions: no full count, a cheap date hierarchy, filters
that each read one index.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.db.models.lookups import IsNull
from django.db.models.sql.where import AND
from django.utils import timezone
from django.utils.functional import cached_property

from goals.ids import short_id
from goals.lifecycle.states import GoalState
from goals.models import Goal
from goals.querysets import GoalQuerySet, WaitsFor
from goals.selectors import goal_kinds


class CappedCountPaginator(Paginator):
    """Counts at most ``cap + 1`` rows: ``COUNT(*)`` over millions of goals costs a full scan per page view.

    A list that holds more says "more than ``cap``" (see the goal admin's ``pagination.html``) and is
    narrowed with filters; its first ``cap / per_page`` pages stay reachable.
    """

    cap = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.cap + 1].count()


_UNITS = {"year": "1 year", "month": "1 month", "day": "1 day"}


class DateHierarchyQuerySet(GoalQuerySet):
    """The changelist's queryset, with ``datetimes()`` answered by index probes instead of a scan.

    The admin's date hierarchy asks for the distinct years, months or days of ``created_at`` among the
    filtered goals; Django computes that with ``SELECT DISTINCT date_trunc(...)`` over every matching
    row. This walks the ``created_at`` index instead: one ``min(created_at)`` probe per distinct bucket
    (a recursive query), so a month of a million goals costs about 31 index lookups.

    Not for a list of active goals only (an active state, stale, overdue): those are few, so Django's
    own query reads them through their partial index. There the probes would be planned blind (the
    planner cannot know that a state like ``running`` implies an active goal, so it prices each probe
    as a scan of thousands of rows), and at 10 M goals that estimate crossed ``jit_above_cost``: the
    query spent 200 ms compiling itself to run in 1 ms.
    """

    def datetimes(self, field_name: str, kind: str, order: str = "ASC", tzinfo: Any = None) -> Any:
        if field_name != "created_at" or kind not in _UNITS or order != "ASC" or _active_only(self.query):
            return super().datetimes(field_name, kind, order, tzinfo)
        zone = tzinfo or timezone.get_current_timezone()
        inner_sql, inner_params = self.order_by().values("created_at").query.sql_with_params()
        sql = f"""
        WITH RECURSIVE buckets(bucket) AS (
            SELECT date_trunc(%s, min(s.created_at) AT TIME ZONE %s) FROM ({inner_sql}) s
            UNION ALL
            SELECT (SELECT date_trunc(%s, min(s.created_at) AT TIME ZONE %s) FROM ({inner_sql}) s
                     WHERE s.created_at >= (buckets.bucket + interval '{_UNITS[kind]}') AT TIME ZONE %s)
              FROM buckets WHERE buckets.bucket IS NOT NULL
        )
        SELECT bucket FROM buckets WHERE bucket IS NOT NULL
        """
        zone_name = str(zone)
        params = [kind, zone_name, *inner_params, kind, zone_name, *inner_params, zone_name]
        with connections[self.db].cursor() as cursor:
            cursor.execute(sql, params)
            return [timezone.make_aware(row[0], zone) for row in cursor.fetchall()]


def _active_only(query: Any) -> bool:
    """Whether the query's top-level conditions include ``ACTIVE_Q`` (``finished_at IS NULL``)."""
    where = query.where
    return where.connector == AND and not where.negated and any(
        isinstance(child, IsNull) and child.rhs is True and getattr(child.lhs, "target", None) is _FINISHED_AT
        for child in where.children)


_FINISHED_AT = Goal._meta.get_field("finished_at")


def with_cheap_date_hierarchy(queryset: QuerySet) -> DateHierarchyQuerySet:
    clone = queryset._chain()
    clone.__class__ = DateHierarchyQuerySet
    return clone


class _YesFilter(admin.SimpleListFilter):
    """A filter with one choice, "yes", that narrows the list to what ``select`` returns."""

    label = ""

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return [("yes", self.label)]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        return self.select(queryset) if self.value() == "yes" else queryset

    def select(self, queryset: QuerySet) -> QuerySet:
        raise NotImplementedError


class StaleFilter(_YesFilter):
    title = parameter_name = "stale"
    label = "Heartbeat older than its timeout"

    def select(self, queryset: QuerySet) -> QuerySet:
        return queryset.stale()


class OverdueFilter(_YesFilter):
    title = parameter_name = "overdue"
    label = "Past its deadline, not final"

    def select(self, queryset: QuerySet) -> QuerySet:
        return queryset.overdue()


class WaitsForFilter(admin.SimpleListFilter):
    """Goals holding no worker, by what they wait for (``GoalQuerySet.waiting_for``)."""

    title = "waits for"
    parameter_name = "waits_for"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return list(WaitsFor.choices)

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() in WaitsFor.values:
            return queryset.waiting_for(self.value())
        return queryset


class StateFilter(admin.SimpleListFilter):
    """The stock field filter's choices and parameter, through ``in_state`` (which names the column
    the indexes hold: active goals by ``finished_at``, final ones by ``final_state``)."""

    title = "state"
    parameter_name = "state__exact"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return list(GoalState.choices)

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() in GoalState.values:
            return queryset.in_state(self.value())
        return queryset


class KindFilter(admin.SimpleListFilter):
    """The kinds found by index skip-scan: the stock filter's ``SELECT DISTINCT kind`` reads every goal."""

    title = "kind"
    parameter_name = "kind"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return [(kind, kind) for kind in goal_kinds()]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(kind=self.value())
        return queryset


class ParentFilter(admin.SimpleListFilter):
    """``?parent=<goal id>``: a goal's children (linked from its page), through the (parent, key) index.
    Drawn in the sidebar only while it filters (a list of every parent would be as long as the history)."""

    title = "parent"
    parameter_name = "parent"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        value = self.value()
        return [(value, f"children of {short_id(value)}")] if value else []

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        try:
            return queryset.filter(parent_id=uuid.UUID(self.value()))
        except ValueError:
            raise IncorrectLookupParameters(f"parent: {self.value()!r} is not a goal id") from None


class OwnerFilter(admin.SimpleListFilter):
    """A user name typed in, not a list: listing the owners that have goals would scan every goal."""

    title = "owner"
    parameter_name = "owner"
    template = "admin/goals/goal/owner_filter.html"

    def __init__(self, request, params, model, model_admin) -> None:
        super().__init__(request, params, model, model_admin)
        # Carried through the filter's own form so typing a name keeps the other filters.
        self.other_params = [(key, value) for key, values in request.GET.lists() for value in values
                             if key not in (self.parameter_name, "p")]

    def choices(self, changelist) -> list[dict[str, Any]]:
        return [{"other_params": self.other_params}]

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return []

    def has_output(self) -> bool:
        return True

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(owner__username=self.value())
        return queryset
