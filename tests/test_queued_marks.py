"""The writer of "queued" marks (goals.queued_marks): marks written from its thread, in one statement for
every mark it holds, fenced like any transition."""

from __future__ import annotations

import pytest
from django.db import connection

from goals import queued_marks
from goals.models import Cause, Goal, GoalEvent
from goals.states import GoalState
from tests.factories import make_goal

ACTOR = "publisher-host:1"


@pytest.mark.django_db(transaction=True)
def test_marks_are_written_by_the_writer_thread():
    goals = [make_goal(state=GoalState.PENDING) for _ in range(30)]
    on_publishing_thread = []

    def note(execute, sql, params, many, context):
        on_publishing_thread.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note):  # this thread's connection only
        for goal in goals:
            queued_marks.mark_queued(goal_id=goal.id, attempt=1, actor=ACTOR)
    queued_marks.stop()

    assert on_publishing_thread == []
    for goal in goals:
        goal.refresh_from_db()
        assert (goal.state, goal.queued_at is not None) == (GoalState.QUEUED, True)
        event = goal.events.get(transition="enqueue")
        assert (event.cause, event.actor, event.from_state) == (Cause.PUBLISHER, ACTOR, GoalState.PENDING)


@pytest.mark.django_db(transaction=True)
def test_held_marks_are_written_in_one_statement_and_fenced(django_assert_num_queries, settings):
    goals = [make_goal(state=GoalState.PENDING) for _ in range(50)]
    started = make_goal(state=GoalState.RUNNING)
    # Hold the marks without the thread writing them: the writer takes them all at once.
    with queued_marks._writer.lock:
        queued_marks._writer.held += [queued_marks.GoalMove(goal_id=g.id, attempt=1) for g in [*goals, started]]
    with django_assert_num_queries(1):
        written = queued_marks.flush()

    assert written == 51
    assert set(Goal.objects.filter(pk__in=[g.id for g in goals]).values_list("state", flat=True)) == {
        GoalState.QUEUED}
    started.refresh_from_db()
    assert started.state == GoalState.RUNNING, "a mark never moves a goal that has moved on"
    assert not GoalEvent.objects.filter(goal=started, transition="enqueue").exists()


@pytest.mark.django_db(transaction=True)
def test_marks_on_the_publishing_thread_when_turned_off(settings, django_assert_num_queries):
    settings.GOALS_QUEUED_MARKS_IN_BACKGROUND = False
    goal = make_goal(state=GoalState.PENDING)
    with django_assert_num_queries(1):
        queued_marks.mark_queued(goal_id=goal.id, attempt=1, actor=ACTOR)
    goal.refresh_from_db()
    assert goal.state == GoalState.QUEUED
