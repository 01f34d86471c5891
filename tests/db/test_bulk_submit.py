"""``submit_many``: every item checked first, one INSERT per batch, idempotency per item, sent after commit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from goals.api import GoalValidationError, submit, submit_many
from goals.lifecycle.states import GoalState
from goals.models import Attempt, Goal, GoalEvent
from goals.submitting import submit as bulk

pytestmark = pytest.mark.django_db


def inserts(queries: CaptureQueriesContext) -> int:
    return sum(query["sql"].startswith("-- goaltrack: insert_goals\n") for query in queries.captured_queries)


def test_goals_attempts_and_journal_rows_go_in_one_statement_in_order(django_capture_on_commit_callbacks):
    alice = User.objects.create_user("alice")
    params = [{"name": f"n{i}", "size": i} for i in range(7)]
    with django_capture_on_commit_callbacks() as callbacks, CaptureQueriesContext(connection) as queries:
        goals = submit_many("tests.typed", params, owner=alice)
    assert [goal.params for goal in goals] == params
    assert {goal.state for goal in goals} == {GoalState.PENDING}
    assert inserts(queries) == 1
    assert Attempt.objects.filter(goal__in=goals, number=1).count() == 7
    events = list(GoalEvent.objects.filter(goal__in=goals).values_list("transition", "actor"))
    assert events == [("submit", "alice")] * 7
    assert len(callbacks) == 1, "the tasks are handed to the sender together, once the transaction commits"


def test_each_goal_handed_back_is_its_row_field_by_field():
    alice = User.objects.create_user("alice")
    deadline = timezone.now() + timedelta(hours=1)
    goals = submit_many("tests.typed", [{"name": "a", "size": 2}, {"name": "b"}], idempotency_keys=["k1", None],
                        owner=alice, deadline=deadline)
    for goal in goals:
        stored = Goal.objects.get(pk=goal.pk)
        assert {f.attname: getattr(goal, f.attname) for f in Goal._meta.concrete_fields} == {
            f.attname: getattr(stored, f.attname) for f in Goal._meta.concrete_fields}
        assert goal._state.adding is False, "saving it later updates its row"


def test_batches_split_a_large_call_into_statements_of_batch_size(monkeypatch):
    monkeypatch.setattr(bulk, "BATCH_SIZE", 3)
    with CaptureQueriesContext(connection) as queries:
        goals = submit_many("tests.typed", [{"name": str(i)} for i in range(8)])
    assert inserts(queries) == 3
    assert [goal.params["name"] for goal in goals] == [str(i) for i in range(8)]
    assert len({goal.pk for goal in goals}) == 8


def test_every_bad_item_is_named_by_index_and_nothing_is_written():
    with pytest.raises(GoalValidationError) as raised:
        submit_many("tests.typed", [{"name": "ok"}, {"name": 5}, {"nope": 1}, None],
                    idempotency_keys=[None, None, None, ""])
    problems = raised.value.message_dict
    assert set(problems) == {"1.params.name", "2.params", "3.params", "3.idempotency_key"}
    assert Goal.objects.count() == 0


def test_an_unknown_kind_is_said_once():
    with pytest.raises(GoalValidationError) as raised:
        submit_many("tests.nope", [{}, {}])
    assert list(raised.value.message_dict) == ["kind"]


def test_a_used_key_returns_its_goal_and_the_same_key_twice_in_a_call_is_one_goal():
    earlier = submit("tests.typed", {"name": "a"}, idempotency_key="k1")
    goals = submit_many("tests.typed", [{"name": "a"}, {"name": "b"}, {"name": "b"}],
                        idempotency_keys=["k1", "k2", "k2"])
    assert goals[0].pk == earlier.pk
    assert goals[1].pk == goals[2].pk
    assert Goal.objects.count() == 2


def test_a_key_reused_with_other_params_is_refused_and_nothing_of_the_call_is_written():
    submit("tests.typed", {"name": "a"}, idempotency_key="k1")
    with pytest.raises(GoalValidationError) as raised:
        submit_many("tests.typed", [{"name": "new"}, {"name": "other"}], idempotency_keys=[None, "k1"])
    assert list(raised.value.message_dict) == ["1.idempotency_key"]
    assert Goal.objects.count() == 1, "the first item's goal was rolled back with the call"


def test_keys_must_be_one_per_item():
    with pytest.raises(GoalValidationError) as raised:
        submit_many("tests.typed", [{"name": "a"}], idempotency_keys=["k1", "k2"])
    assert list(raised.value.message_dict) == ["idempotency_keys"]
    assert submit_many("tests.typed", []) == []
