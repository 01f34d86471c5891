"""The sender thread (goals.submitting.sender): committed goals published and recorded queued from its own thread,
a group in one statement, fenced like any transition. A broker that is down costs the sender, not the
caller: tests/db/test_broker_down.py."""

from __future__ import annotations

import pytest
from django.db import connection

from goals.lifecycle.states import GoalState
from goals.models import Cause, Goal, GoalEvent
from goals.submitting import sender
from goals.submitting.publish import Dispatch
from tests.executors import purge_unconsumed
from tests.factories import make_goal

UNCONSUMED = "tests.unconsumed"


def dispatch_of(goal: Goal) -> Dispatch:
    return Dispatch(goal_id=goal.id, attempt=goal.attempt, task_id=goal.task_id, kind=goal.kind)


@pytest.mark.django_db(transaction=True)
def test_goals_are_sent_and_marked_by_the_sender_thread():
    goals = [make_goal(state=GoalState.PENDING, kind=UNCONSUMED) for _ in range(30)]
    on_this_thread = []

    def note(execute, sql, params, many, context):
        on_this_thread.append(sql)
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(note):  # this thread's connection only
            for goal in goals:
                sender.send(dispatch_of(goal))
        sender.stop()
        assert on_this_thread == []
        for goal in goals:
            goal.refresh_from_db()
            assert (goal.state, goal.queued_at is not None) == (GoalState.QUEUED, True)
            event = goal.events.get(transition="enqueue")
            assert (event.cause, event.from_state) == (Cause.PUBLISHER, GoalState.PENDING)
    finally:
        purge_unconsumed()


@pytest.mark.django_db(transaction=True)
def test_held_goals_are_sent_as_one_group_and_fenced(django_assert_num_queries):
    goals = [make_goal(state=GoalState.PENDING, kind=UNCONSUMED) for _ in range(50)]
    started = make_goal(state=GoalState.RUNNING, kind=UNCONSUMED)
    # Hold them without the thread sending them: the sender takes them all at once.
    with sender._sender.lock:
        sender._sender.held += [dispatch_of(g) for g in [*goals, started]]
    try:
        with django_assert_num_queries(1):  # 51 publishes, one statement
            sent = sender.send_held()
        assert sent == 51
        assert set(Goal.objects.filter(pk__in=[g.id for g in goals]).values_list("state", flat=True)) == {
            GoalState.QUEUED}
        started.refresh_from_db()
        assert started.state == GoalState.RUNNING, "a mark never moves a goal that has moved on"
        assert not GoalEvent.objects.filter(goal=started, transition="enqueue").exists()
    finally:
        purge_unconsumed()


@pytest.mark.django_db(transaction=True)
def test_sent_on_the_committing_thread_when_turned_off(settings, django_assert_num_queries):
    settings.GOALS_SEND_IN_BACKGROUND = False
    goal = make_goal(state=GoalState.PENDING, kind=UNCONSUMED)
    try:
        with django_assert_num_queries(1):
            sender.send(dispatch_of(goal))
        goal.refresh_from_db()
        assert goal.state == GoalState.QUEUED
    finally:
        purge_unconsumed()


