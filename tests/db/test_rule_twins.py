"""A rule asked in Python and in SQL has one definition per language; here they are held equal on a grid
of every case, so the two can never drift apart."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection

from goals.lifecycle.fan_in import children_decided
from goals.lifecycle.results import CELERY_STATUS
from goals.lifecycle.run_kind import RunKind, run_kind
from goals.lifecycle.states import FINAL_STATES, GoalState
from goals.models import Goal
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


def test_whether_children_have_an_outcome_is_the_same_in_python_and_sql():
    grid = [(total, final, failed, allowed) for total in (0, 1, 3) for final in range(total + 1)
            for failed in range(final + 1) for allowed in (None, 0, 1, 2)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT goals_children_decided(t, f, x, a)"
                       " FROM unnest(%s::int[], %s::int[], %s::int[], %s::int[]) WITH ORDINALITY AS g(t, f, x, a, n)"
                       " ORDER BY n",
                       [[g[0] for g in grid], [g[1] for g in grid], [g[2] for g in grid], [g[3] for g in grid]])
        in_sql = [decided for (decided,) in cursor.fetchall()]
    in_python = [children_decided(total=t, final=f, failed=x, failures_allowed=a) for t, f, x, a in grid]
    assert in_python == in_sql
    assert True in in_python
    assert False in in_python


def test_the_celery_status_of_a_final_goal_is_the_same_in_python_and_sql():
    states = [state.value for state in GoalState]
    with connection.cursor() as cursor:
        cursor.execute("SELECT s, goals_celery_status(s) FROM unnest(%s::text[]) AS s", [states])
        in_sql = {state: status for state, status in cursor.fetchall() if status is not None}
    assert in_sql == CELERY_STATUS
    assert set(CELERY_STATUS) == {state.value for state in FINAL_STATES}
