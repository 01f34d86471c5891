"""Every way a goal or an attempt comes to be gives it a time-ordered (UUIDv7) id, in the rows as written."""

from __future__ import annotations

import uuid

import pytest

from goals.api import cancel, retry, submit, submit_many
from goals.models import Attempt, Goal
from tests.factories import make_goal

pytestmark = pytest.mark.django_db


def versions(values) -> set[int]:
    return {uuid.UUID(str(value)).version for value in values}


def test_submitted_goals_and_their_first_tasks_have_version_7_ids():
    goals = [submit("tests.noop"), *submit_many("tests.noop", [{}, {}, {}])]
    rows = Goal.objects.filter(pk__in=[goal.pk for goal in goals])
    assert versions(rows.values_list("id", flat=True)) == {7}
    assert versions(rows.values_list("task_id", flat=True)) == {7}
    assert versions(Attempt.objects.filter(goal__in=goals).values_list("task_id", flat=True)) == {7}


def test_a_retried_goal_gets_a_version_7_task_id_and_a_model_made_goal_a_version_7_id():
    goal = submit("tests.noop")
    cancel(goal.pk)
    retried = retry(goal.pk)
    assert retried.task_id != goal.task_id
    assert versions([retried.task_id]) == {7}
    assert versions([make_goal().pk]) == {7}, "the model's own default"
