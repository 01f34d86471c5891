"""Active transitions and progress reports are HOT updates: no index of the goal row names a column they
change, and PostgreSQL's own counter of this transaction's HOT updates says each one was."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from goals.lifecycle.states import ENQUEUE, START, SUCCEED, GoalState
from goals.lifecycle.transitions import apply_transition
from goals.models import Cause, Goal
from goals.worker.context import ExecutionContext
from tests.factories import make_goal

pytestmark = pytest.mark.django_db

# What enqueue, start, progress and heartbeats write (a retry or a redispatch also resets these).
CHANGED_BY_ACTIVE_WRITES = ("state", "attempt", "task_id", "queued_at", "started_at", "heartbeat_at",
                            "progress_current", "progress_total", "progress_message", "max_attempts",
                            # A parent's, by its children's final transitions, its wait and its fan-in.
                            "children_total", "children_final", "children_failed", "child_failures_allowed",
                            "continuation", "fan_ins")


def index_definitions(table: str) -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return dict(cursor.fetchall())


def hot_updates_in_this_transaction(table: str) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_get_xact_tuples_updated(%s::regclass),"
                       " pg_stat_get_xact_tuples_hot_updated(%s::regclass)", [table, table])
        return cursor.fetchone()


def test_no_index_of_the_goal_row_names_a_column_an_active_write_changes():
    definitions = index_definitions(Goal._meta.db_table)
    # The index of due goals names run_after, which only the final move changes; a schedule's goals' index,
    # schedule_id, which nothing changes after the insert; the index of waits for an event by key, wait_event
    # and wait_key, which only the wait, its resume and the final move change; the held goals' index,
    # held_for, which only a goal held by its concurrency limit, admitted or ended while held changes.
    assert len(definitions) == 18
    named = {name: sorted(column for column in CHANGED_BY_ACTIVE_WRITES if re.search(rf"\b{column}\b", definition))
             for name, definition in definitions.items()}
    assert {name: columns for name, columns in named.items() if columns} == {}


def test_the_goal_and_attempt_tables_leave_room_on_each_page_for_hot_updates():
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reloptions FROM pg_class WHERE relname IN ('goals_goal', 'goals_attempt')")
        assert dict(cursor.fetchall()) == {"goals_goal": ["fillfactor=80"], "goals_attempt": ["fillfactor=80"]}


def test_enqueue_start_and_progress_are_hot_and_only_the_final_transition_is_not():
    goal = make_goal(state=GoalState.PENDING, kind="tests.noop")
    table = Goal._meta.db_table
    updates, hot = hot_updates_in_this_transaction(table)
    for transition in (ENQUEUE, START):
        apply_transition(transition, goal_id=goal.pk, attempt=1, cause=Cause.EXECUTOR).raise_if_refused()
    context = ExecutionContext(goal_id=goal.pk, attempt=1, kind=goal.kind, interval=0)
    context.progress(1, 2, "half")
    context.heartbeat()
    assert hot_updates_in_this_transaction(table) == (updates + 4, hot + 4)
    apply_transition(SUCCEED, goal_id=goal.pk, attempt=1, cause=Cause.EXECUTOR).raise_if_refused()
    assert hot_updates_in_this_transaction(table) == (updates + 5, hot + 4), (
        "the final transition sets finished_at and final_state, which the indexes of final goals hold")
    goal.refresh_from_db()
    assert (goal.state, goal.final_state, goal.progress_message) == (GoalState.SUCCEEDED, "succeeded", "half")
