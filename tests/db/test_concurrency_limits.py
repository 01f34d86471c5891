"""Concurrency limits on real PostgreSQL: the start that takes a slot or holds the goal, every end that gives
the slot back exactly once, the held goals admitted oldest first, and an operator's limit taking effect at
once (goals.executors.limits)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from goals.api import cancel, set_concurrency, submit, submit_many
from goals.exceptions import GoalValidationError
from goals.executors.registry import declared_concurrency
from goals.families.children import spawn_children
from goals.lifecycle.states import FAIL, REDISPATCH, SCHEDULE_RETRY, SUCCEED, TRANSITIONS, GoalState
from goals.lifecycle.transitions import admit_held, start_attempt
from goals.models import ConcurrencySlots, Goal
from goals.submitting.moves import move
from tests.factories import make_goal

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_sending(kept_sends):
    """These tests play the worker themselves: what the moves send is kept (``kept_sends``)."""
    return kept_sends


def _start(goal: Goal, attempt: int | None = None):
    return start_attempt(goal_id=goal.pk, attempt=attempt or goal.attempt, task_id=goal.task_id, worker="w1",
                         limits=declared_concurrency())


def _slots(kind: str = "tests.limited", key: str = "acme") -> tuple[int, int]:
    row = ConcurrencySlots.objects.get(kind=kind, key=key)
    return row.running, row.held


def _succeed(goal_id, attempt: int = 1):
    return move(SUCCEED, goal_id=goal_id, attempt=attempt, cause="executor", actor="w1", caller_task_id="t",
                set_result=True, result=None)


def test_the_start_over_the_limit_holds_the_goal_without_spending_an_attempt():
    goals = [submit("tests.limited", {"tenant": "acme"}) for _ in range(3)]
    other = submit("tests.limited", {"tenant": "globex"})
    assert {g.limit_key for g in goals} == {"acme"}
    assert _slots() == (0, 0), "each key's row is made with its goals, before any can start"
    first, second, third = (_start(g) for g in goals)
    assert first.applied
    assert second.applied
    assert third.held
    assert not third.applied
    assert _start(other).applied, "another key has slots of its own"
    held = Goal.objects.get(pk=goals[2].pk)
    assert (held.state, held.attempt, held.held_for, held.holds_slot) == ("held", 1, "slot", False)
    assert held.waits_for.summary == "waits for a slot of tests.limited (acme)"
    assert list(held.events.values_list("transition", "from_state", "to_state")) == [
        ("submit", "", "pending"), ("hold", "pending", "held")]
    assert _slots() == (2, 1)
    assert _slots(key="globex") == (1, 0)


def test_an_end_gives_its_slot_to_the_oldest_held_goal_of_its_key(no_sending):
    goals = [submit("tests.limited", {"tenant": "acme"}) for _ in range(4)]
    for goal in goals:
        _start(goal)
    assert _slots() == (2, 2)
    _succeed(goals[0].pk)
    admitted = Goal.objects.get(pk=goals[2].pk)
    assert (admitted.state, admitted.holds_slot, admitted.held_for) == ("pending", True, "")
    assert [str(d.goal_id) for d in no_sending] == [str(goals[2].pk)]
    assert Goal.objects.get(pk=goals[3].pk).state == GoalState.HELD
    assert _slots() == (2, 1)
    # The admitted goal's message starts it on the slot it brings, not on a new one.
    assert _start(admitted).applied
    assert _slots() == (2, 1)


@pytest.mark.parametrize("end", ["succeed", "fail", "schedule_retry", "redispatch", "cancel"])
def test_every_way_an_attempt_ends_gives_its_slot_back_once(end):
    goal = submit("tests.limited", {"tenant": "acme"})
    _start(goal)
    assert _slots() == (1, 0)
    kwargs = {"goal_id": goal.pk, "attempt": 1, "cause": "executor", "actor": "w1", "caller_task_id": "t"}
    for _ in range(2):  # the second time, a duplicate callback: refused, frees nothing
        if end == "succeed":
            _succeed(goal.pk)
        elif end == "fail":
            move(FAIL, error={"type": "Boom", "message": "x"}, **kwargs)
        elif end == "schedule_retry":
            move(SCHEDULE_RETRY, new_task_id=str(uuid.uuid4()), error={"type": "Boom", "message": "x"}, **kwargs)
        elif end == "redispatch":
            move(REDISPATCH, new_task_id=str(uuid.uuid4()), **kwargs)
        else:
            cancel(goal.pk) if Goal.objects.get(pk=goal.pk).state == GoalState.RUNNING else None
        assert _slots() == (0, 0)
    assert Goal.objects.get(pk=goal.pk).holds_slot is False


def test_a_lone_goal_end_frees_its_slot_in_its_own_statement():
    goal = submit("tests.limited", {"tenant": "acme"})
    _start(goal)
    with CaptureQueriesContext(connection) as queries:
        move(SUCCEED, goal_id=goal.pk, attempt=1, cause="executor", actor="w1", caller_task_id="t", alone=True,
             set_result=True, result=None)
    assert len(queries) == 1, "no held goal: no admit statement"
    assert _slots() == (0, 0)


def test_a_held_goal_that_is_cancelled_leaves_the_held_count():
    goals = [submit("tests.limited", {"tenant": "acme"}) for _ in range(3)]
    for goal in goals:
        _start(goal)
    cancel(goals[2].pk)
    assert _slots() == (2, 0)
    _succeed(goals[0].pk)
    assert _slots() == (1, 0)


def test_a_parent_cancel_frees_its_running_childs_slot_in_the_cascade():
    parent = submit("tests.family")
    start_attempt(goal_id=parent.pk, attempt=1, task_id=parent.task_id, worker="w1")
    [child] = spawn_children(parent_id=parent.pk, attempt=1, kind="tests.limited",
                             params_list=[{"tenant": "acme"}], keys=["c1"], deadline=None, actor="w1")
    _start(Goal.objects.get(pk=child))
    assert _slots() == (1, 0)
    cancel(parent.pk)
    assert Goal.objects.get(pk=child).state == GoalState.CANCELLED
    assert _slots() == (0, 0)


def test_a_lowered_limit_lets_running_goals_finish_and_starts_none_until_under_it(no_sending):
    goals = [submit("tests.limited", {"tenant": "acme"}) for _ in range(4)]
    _start(goals[0]), _start(goals[1])
    set_concurrency("tests.limited", 1, actor="oncall")
    assert _start(goals[2]).held
    _succeed(goals[0].pk)
    assert _slots() == (1, 1), "one still runs: at the new limit, nothing admitted"
    assert not no_sending
    set_concurrency("tests.limited", 3, actor="oncall")
    assert Goal.objects.get(pk=goals[2].pk).state == GoalState.PENDING, "a raised limit admits at once"
    assert _start(goals[3]).applied
    assert _slots() == (3, 0)
    set_concurrency("tests.limited", None, actor="oncall")
    assert ConcurrencySlots.objects.get(kind="tests.limited", key="acme").capacity == 2


def test_a_kind_without_a_declared_limit_takes_an_operators():
    set_concurrency("tests.noop", 1, actor="oncall")
    first, second = submit("tests.noop"), submit("tests.noop")
    assert _start(first).applied
    assert _start(second).held
    assert _slots("tests.noop", "") == (1, 1)


def test_a_goal_with_no_limit_costs_no_extra_statement():
    goal = submit("tests.noop")
    with CaptureQueriesContext(connection) as queries:
        _start(goal)
        move(SUCCEED, goal_id=goal.pk, attempt=1, cause="executor", actor="w1", caller_task_id="t", alone=True,
             set_result=True, result=None)
    assert len(queries) == 2
    assert not ConcurrencySlots.objects.exists()


def test_bad_limit_input_is_refused_naming_the_executor_and_the_field():
    from goals.executors.limits import Concurrency, concurrency_of

    for bad in (0, -1, 2.5, True, "5"):
        with pytest.raises(ValueError, match=r"executor 'x\.y': concurrency must be a positive integer"):
            concurrency_of("x.y", bad)
    with pytest.raises(ValueError, match="concurrency key must be a function"):
        concurrency_of("x.y", Concurrency(1, key="tenant"))
    with pytest.raises(GoalValidationError) as raised:
        submit("tests.limited_by_number", {"n": 7})
    assert raised.value.message_dict == {"concurrency.key": [
        "executor 'tests.limited_by_number': the concurrency key function returned int, not a string"]}
    with pytest.raises(GoalValidationError) as raised:
        submit_many("tests.limited_by_number", [{"n": 1}, {}])
    assert raised.value.message_dict["1.concurrency.key"] == [
        "executor 'tests.limited_by_number': the concurrency key function raised KeyError: 'n'"]
    assert Goal.objects.count() == 0
    with pytest.raises(GoalValidationError):
        set_concurrency("tests.limited", 0)
    with pytest.raises(GoalValidationError):
        set_concurrency("no.such", 1)


def test_the_held_goals_are_admitted_in_submit_order(no_sending):
    goals = [submit("tests.limited", {"tenant": "acme"}) for _ in range(6)]
    # The two newest take the slots; the rest are held newest first.
    for goal in reversed(goals):
        _start(goal)
    assert _slots() == (2, 4)
    admitted = []
    for running in (goals[5], goals[4], *goals[:4]):
        _succeed(running.pk)
        admitted += [d.goal_id for d in no_sending]
        no_sending.clear()
        for goal_id in admitted:
            goal = Goal.objects.get(pk=goal_id)
            if goal.state == GoalState.PENDING:
                _start(goal)
    assert admitted == [g.pk for g in goals[:4]]
    assert _slots() == (0, 0)


@pytest.mark.parametrize("source", list(GoalState))
def test_only_a_start_of_a_goal_that_may_start_holds_it_and_only_a_held_goal_is_admitted(source):
    """The pairs of hold and admit: the start statement holds a goal only from a state a start leaves."""
    ConcurrencySlots.objects.create(kind="tests.limited", key="acme", running=2, held=0, capacity=2)
    goal = make_goal(state=source, kind="tests.limited", limit_key="acme", held_for="slot" if source == "held" else "")
    outcome = start_attempt(goal_id=goal.pk, attempt=1, task_id=goal.task_id, worker="w1",
                            limits=declared_concurrency())
    assert outcome.held == (source in TRANSITIONS["hold"].sources)
    ConcurrencySlots.objects.update(running=0)
    admitted = admit_held({("tests.limited", "acme")}, cause="api")
    assert bool(admitted) == (source in TRANSITIONS["admit"].sources or outcome.held)
    assert Goal.objects.get(pk=goal.pk).state == (
        GoalState.PENDING if admitted else GoalState.HELD if outcome.held else source)


def test_a_paused_kind_holds_its_goals_and_a_resume_sends_them_in_order(no_sending):
    from goals.api import pause_kind, resume_kind
    from goals.models import KindControl, KindEvent

    goals = [submit("tests.noop") for _ in range(3)]
    assert pause_kind("tests.noop", reason="partner outage", actor="oncall")
    assert not pause_kind("tests.noop", reason="again", actor="oncall"), "paused already: nothing written"
    for goal in reversed(goals):
        outcome = _start(goal)
        assert outcome.held
    held = Goal.objects.get(pk=goals[0].pk)
    assert (held.state, held.held_for, held.attempt) == ("held", "pause", 1)
    assert held.waits_for.summary == "waits for tests.noop to be resumed"
    assert set(Goal.objects.waiting_for("pause")) == set(Goal.objects.filter(pk__in=[g.pk for g in goals]))
    control = KindControl.objects.get(pk="tests.noop")
    assert (control.paused, control.paused_by, control.pause_reason) == (True, "oncall", "partner outage")
    assert resume_kind("tests.noop", actor="oncall") == 3
    assert [str(d.goal_id) for d in no_sending] == [str(g.pk) for g in goals], "oldest first"
    assert all(_start(Goal.objects.get(pk=g.pk)).applied for g in goals)
    assert resume_kind("tests.noop", actor="oncall") == 0
    assert list(KindEvent.objects.filter(kind="tests.noop").order_by("id").values_list("event", "actor", "reason")) \
        == [("paused", "oncall", "partner outage"), ("resumed", "oncall", "")]
    with pytest.raises(GoalValidationError):
        pause_kind("tests.noop", reason=" ")


def test_the_reconciler_recounts_a_key_and_admits_goals_held_with_a_slot_free(no_sending, monkeypatch):
    from goals.reconciler.passes import run_pass

    sent = []
    monkeypatch.setattr("goals.reconciler.slots.publish_attempts",
                        lambda dispatches: sent.extend(dispatches) or {str(d.goal_id) for d in dispatches})
    goals = [submit("tests.limited", {"tenant": "acme"}) for _ in range(3)]
    for goal in goals:
        _start(goal)
    # What no statement would do: a running goal's row says it holds no slot, and the count lost a held goal.
    Goal.objects.filter(pk=goals[0].pk).update(holds_slot=False)
    ConcurrencySlots.objects.filter(kind="tests.limited", key="acme").update(held=0)
    _report, dry = run_pass(dry_run=True, only=["slots_miscounted", "held_slot_free"])
    assert [(f.kind, f.action) for f in dry] == [("slots_miscounted", "reported"), ("held_slot_free", "reported")]
    assert _slots() == (2, 0), "a dry run changes nothing"
    _report, findings = run_pass(only=["slots_miscounted", "held_slot_free"])
    assert [(f.kind, f.action) for f in findings] == [("slots_miscounted", "recounted"), ("held_slot_free", "admitted")]
    assert findings[0].evidence == {"kind": "tests.limited", "key": "acme", "capacity": 2, "running": 1, "held": 1,
                                    "counted_running": 2, "counted_held": 0}
    assert [d.goal_id for d in sent] == [goals[2].pk]
    assert _slots() == (2, 0)
    assert run_pass(only=["slots_miscounted", "held_slot_free"])[1] == []
