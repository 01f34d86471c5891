"""A rule asked in Python and in SQL has one definition per language; here they are held equal on a grid
of every case, so the two can never drift apart."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection

from goals.models import Goal
from goals.run_kind import RunKind, run_kind
from tests.factories import make_goal

pytestmark = pytest.mark.django_db

KINDS = ("tests.count", "tests.sleeper_once")
CONTINUATIONS = ("", "tests.count", "tests.family_merge")


def test_which_executor_runs_the_attempt_is_the_same_in_python_sql_and_the_orm():
    grid = list(itertools.product(KINDS, CONTINUATIONS))
    with connection.cursor() as cursor:
        cursor.execute("SELECT k, c, goals_run_kind(k, c) FROM unnest(%s::text[], %s::text[]) AS t(k, c)",
                       [[k for k, _ in grid], [c for _, c in grid]])
        in_sql = {(k, c): chosen for k, c, chosen in cursor.fetchall()}
    goals = {make_goal(kind=k, continuation=c).pk: (k, c) for k, c in grid}
    in_orm = {goals[pk]: chosen for pk, chosen in
              Goal.objects.filter(pk__in=goals).annotate(chosen=RunKind())
              .values_list("pk", "chosen")}
    in_python = {(k, c): run_kind(k, c) for k, c in grid}
    assert in_python == in_sql == in_orm
    assert in_python[("tests.count", "tests.family_merge")] == "tests.family_merge"
    assert in_python[("tests.count", "")] == "tests.count"
