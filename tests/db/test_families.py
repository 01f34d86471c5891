"""Families on real PostgreSQL, without a worker: spawning, the count kept by each child's own final
transition, the fan-in it fires exactly once, the cascade of a parent's end, and a child's retry."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from goals.exceptions import GoalNoLongerRunning, GoalValidationError
from goals.families.children import WaitForChildren, spawn_children
from goals.lifecycle.fan_in import FAIL_FAST, WAIT_FOR_ALL, tolerate
from goals.lifecycle.states import CANCEL, FAIL, RETRY, START, SUCCEED, GoalState
from goals.lifecycle.transitions import apply_transition
from goals.models import AttemptOutcome, Cause, EventType, Goal, GoalEvent
from goals.submitting.people import goal_cancel
from goals.worker import callbacks
from tests.executors import purge_unconsumed
from tests.factories import make_goal

pytestmark = pytest.mark.django_db


def parent_with_children(n: int, *, kind: str = "tests.noop", parent: Goal | None = None) -> tuple[Goal, list]:
    parent = parent or make_goal(state=GoalState.RUNNING, kind="tests.count")
    ids = spawn_children(parent_id=parent.id, attempt=parent.attempt, kind=kind, params_list=[{}] * n,
                         keys=[f"k{i}" for i in range(n)], deadline=None, actor="worker-1")
    return parent, ids


def wait(parent: Goal, policy=FAIL_FAST, then: str = "") -> None:
    callbacks.attempt_waiting(goal_id=str(parent.id), attempt=parent.attempt, task_id=parent.task_id,
                              worker="worker-1", wait=WaitForChildren(policy=policy, then=then), budget=2)


def finish(child_id, transition=SUCCEED, **kwargs):
    child = Goal.objects.get(pk=child_id)
    if child.state != GoalState.RUNNING:
        apply_transition(START, goal_id=child_id, attempt=child.attempt, cause=Cause.EXECUTOR, actor="w")
    return apply_transition(transition, goal_id=child_id, attempt=child.attempt, cause=Cause.EXECUTOR, actor="w",
                            journal_refusal=True, **kwargs)


def fan_ins(goal: Goal) -> int:
    return GoalEvent.objects.filter(goal=goal, transition="fan_in").count()


def test_spawning_is_idempotent_per_parent_and_counted_once():
    parent, first = parent_with_children(3)
    _, again = parent_with_children(3, parent=parent)
    assert again == first
    parent.refresh_from_db()
    assert parent.children_total == 3
    children = Goal.objects.filter(parent=parent)
    assert {(c.state, c.owner_id, c.attempt) for c in children} == {(GoalState.PENDING, None, 1)}
    assert GoalEvent.objects.filter(goal__in=children, transition="submit").count() == 3


def test_a_key_spawned_again_with_other_params_is_refused_and_nothing_is_written():
    parent, _ = parent_with_children(1, kind="tests.count")
    with pytest.raises(GoalValidationError) as refused:
        spawn_children(parent_id=parent.id, attempt=parent.attempt, kind="tests.count",
                       params_list=[{"to": 1}, {"to": 7}], keys=["new", "k0"], deadline=None, actor="w")
    assert "1.key" in refused.value.message_dict
    assert Goal.objects.filter(parent=parent).count() == 1
    assert Goal.objects.get(pk=parent.pk).children_total == 1


def test_only_the_running_attempt_spawns():
    parent = make_goal(state=GoalState.RUNNING, attempt=2)
    with pytest.raises(GoalNoLongerRunning):
        spawn_children(parent_id=parent.id, attempt=1, kind="tests.noop", params_list=[{}], keys=["a"],
                       deadline=None, actor="w")
    assert not Goal.objects.filter(parent=parent).exists()


def test_the_last_child_fans_the_parent_in_once_and_a_duplicate_callback_changes_nothing():
    parent, children = parent_with_children(3)
    wait(parent)
    parent.refresh_from_db()
    assert (parent.state, parent.progress_current, parent.progress_total) == (GoalState.WAITING, 0, 3)
    assert parent.attempts.get(number=1).outcome == AttemptOutcome.WAITING
    assert finish(children[0]).fanned_in is None
    assert finish(children[1]).fanned_in is None
    last = finish(children[2])
    parent.refresh_from_db()
    assert last.fanned_in is not None
    assert last.fanned_in.goal_id == parent.id
    assert (parent.state, parent.attempt, parent.fan_ins, parent.task_id) == (
        GoalState.PENDING, 2, 1, last.fanned_in.task_id)
    assert (parent.children_final, parent.children_failed) == (3, 0)
    event = GoalEvent.objects.get(goal=parent, transition="fan_in")
    assert (event.from_state, event.to_state, event.attempt, event.details["child"]) == (
        GoalState.WAITING, GoalState.PENDING, 2, str(children[2]))
    duplicate = apply_transition(SUCCEED, goal_id=children[2], attempt=1, cause=Cause.EXECUTOR, journal_refusal=True)
    assert not duplicate.applied
    assert duplicate.fanned_in is None
    assert fan_ins(parent) == 1
    assert Goal.objects.get(pk=parent.pk).children_final == 3


def test_a_childs_final_transition_counts_and_fans_in_within_its_one_statement():
    parent, children = parent_with_children(1)
    wait(parent)
    apply_transition(START, goal_id=children[0], attempt=1, cause=Cause.EXECUTOR)
    with CaptureQueriesContext(connection) as queries:
        outcome = apply_transition(SUCCEED, goal_id=children[0], attempt=1, cause=Cause.EXECUTOR)
    assert len(queries) == 1
    assert outcome.fanned_in is not None
    assert Goal.objects.get(pk=parent.pk).state == GoalState.PENDING


def test_children_that_all_ended_before_the_parent_waited_fan_it_in_at_once(settings,
                                                                            django_capture_on_commit_callbacks):
    settings.GOALS_SEND_IN_BACKGROUND = False
    purge_unconsumed()
    parent, children = parent_with_children(2)
    for child in children:
        assert finish(child).fanned_in is None, "the parent is still running: it has not handed back yet"
    with django_capture_on_commit_callbacks(execute=True):
        wait(parent, then="tests.unconsumed")
    parent.refresh_from_db()
    assert (parent.state, parent.attempt, fan_ins(parent)) == (GoalState.QUEUED, 2, 1)
    assert purge_unconsumed() == 1, "its continuation is sent, once"


def test_a_parent_fanned_in_as_it_waits_with_nothing_to_continue_ends_with_no_worker(
        settings, django_capture_on_commit_callbacks):
    settings.GOALS_SEND_IN_BACKGROUND = False
    parent, (succeeded, failed) = parent_with_children(2)
    finish(succeeded)
    finish(failed, FAIL, error={"type": "Boom", "message": "x", "traceback": ""})
    childless = make_goal(state=GoalState.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        wait(parent)  # fail-fast: the failed child decides it
        wait(childless)  # no children: none failed
    parent.refresh_from_db()
    assert (parent.state, parent.attempt, fan_ins(parent)) == (GoalState.FAILED, 2, 1)
    assert parent.error["type"] == "goals.exceptions.ChildrenFailed"
    childless.refresh_from_db()
    assert (childless.state, childless.result) == (
        GoalState.SUCCEEDED, {"children": {"total": 0, "succeeded": 0, "failed": 0}})
    assert not GoalEvent.objects.filter(goal__in=[parent, childless], transition="enqueue").exists(), (
        "no worker is asked to learn what the children already say")


@pytest.mark.parametrize(("policy", "fails_before_fan_in"), [(FAIL_FAST, 1), (tolerate(1), 2), (WAIT_FOR_ALL, 3)])
def test_the_policy_says_how_many_failures_fan_in_early(policy, fails_before_fan_in):
    parent, children = parent_with_children(3)
    wait(parent, policy=policy)
    for n, child in enumerate(children, start=1):
        outcome = finish(child, FAIL, error={"type": "Boom", "message": "x", "traceback": ""})
        assert (outcome.fanned_in is not None) == (n == fails_before_fan_in), n
    parent.refresh_from_db()
    assert (parent.children_final, parent.children_failed, fan_ins(parent)) == (3, 3, 1)


def test_two_children_ending_at_the_same_instant_fan_in_exactly_once(transactional_db):
    for _ in range(5):
        parent, children = parent_with_children(2)
        wait(parent)
        for child in children:
            apply_transition(START, goal_id=child, attempt=1, cause=Cause.EXECUTOR)
        barrier, outcomes = threading.Barrier(2), []

        def end(child_id, barrier=barrier, outcomes=outcomes):
            barrier.wait()
            outcomes.append(apply_transition(SUCCEED, goal_id=child_id, attempt=1, cause=Cause.EXECUTOR))
            connections.close_all()

        threads = [threading.Thread(target=end, args=(child,)) for child in children]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(outcome.fanned_in is not None for outcome in outcomes) == 1
        parent.refresh_from_db()
        assert (parent.state, parent.children_final, fan_ins(parent)) == (GoalState.PENDING, 2, 1)


def test_a_parents_end_cancels_its_active_descendants_at_every_level():
    top, (middle, done) = parent_with_children(2, kind="tests.count")
    apply_transition(START, goal_id=middle, attempt=1, cause=Cause.EXECUTOR)
    middle_goal = Goal.objects.get(pk=middle)
    _, grandchildren = parent_with_children(2, parent=middle_goal)
    wait(middle_goal)
    finish(done)
    goal_cancel(goal_id=top.id, actor="alice", reason="not needed")
    states = dict(Goal.objects.filter(pk__in=[top.id, middle, done, *grandchildren]).values_list("pk", "state"))
    assert states == {top.id: GoalState.CANCELLED, middle: GoalState.CANCELLED, done: GoalState.SUCCEEDED,
                      grandchildren[0]: GoalState.CANCELLED, grandchildren[1]: GoalState.CANCELLED}
    cascaded = GoalEvent.objects.filter(cause=Cause.PARENT, transition=CANCEL.name)
    assert {(e.goal_id, e.details["parent"]) for e in cascaded} == {
        (middle, str(top.id)), (grandchildren[0], str(middle)), (grandchildren[1], str(middle))}
    for goal in Goal.objects.filter(pk__in=[top.id, middle]):
        assert (goal.children_final, goal.children_failed) == (2, 1 if goal.pk == top.id else 2)
    assert Goal.objects.get(pk=middle).attempts.get(number=1).outcome == AttemptOutcome.WAITING
    assert not GoalEvent.objects.filter(event=EventType.IGNORED).exists()


def test_a_failed_child_may_be_retried_while_its_parent_waits_but_not_once_the_parent_is_final():
    parent, (failing, other) = parent_with_children(2)
    wait(parent, policy=WAIT_FOR_ALL)
    finish(failing, FAIL, error={"type": "Boom", "message": "x", "traceback": ""})
    retried = apply_transition(RETRY, goal_id=failing, attempt=None, cause=Cause.ADMIN, new_task_id=str(uuid.uuid4()),
                               budget=1)
    assert retried.applied
    parent.refresh_from_db()
    assert (parent.children_final, parent.children_failed, parent.state) == (0, 0, GoalState.WAITING)
    finish(failing)
    finish(other)
    parent.refresh_from_db()
    assert (parent.state, parent.children_final, parent.children_failed) == (GoalState.PENDING, 2, 0)

    lonely_parent, (child,) = parent_with_children(1)
    finish(child, FAIL, error={"type": "Boom", "message": "x", "traceback": ""})
    goal_cancel(goal_id=lonely_parent.id)
    refused = apply_transition(RETRY, goal_id=child, attempt=None, cause=Cause.ADMIN, new_task_id=str(uuid.uuid4()),
                               budget=1)
    assert not refused.applied
    assert Goal.objects.get(pk=child).state == GoalState.FAILED


def test_a_child_waits_for_its_parents_lock_before_it_takes_its_own(transactional_db):
    """Ancestors first: a child ending while its parent's row is held holds nothing of its own meanwhile,
    so the parent's holder may still lock the child (the cascade of a parent's end does) without deadlock."""
    parent, (child,) = parent_with_children(1)
    apply_transition(START, goal_id=child, attempt=1, cause=Cause.EXECUTOR)
    holder = connections.create_connection("default")
    holder.ensure_connection()
    holder.set_autocommit(False)
    with holder.cursor() as cursor:
        cursor.execute("SELECT 1 FROM goals_goal WHERE id = %s FOR UPDATE", [parent.id])
    ended = []
    thread = threading.Thread(target=lambda: (ended.append(apply_transition(
        SUCCEED, goal_id=child, attempt=1, cause=Cause.EXECUTOR)), connections.close_all()))
    thread.start()
    try:
        with holder.cursor() as cursor:
            for _ in range(50):  # until the child's statement waits on the parent's lock
                cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'")
                if cursor.fetchone()[0]:
                    break
                threading.Event().wait(0.05)
            else:
                pytest.fail("the child's statement never waited for the parent's lock")
            cursor.execute("SELECT 1 FROM goals_goal WHERE id = %s FOR UPDATE NOWAIT", [child])
    finally:
        holder.rollback()
        holder.close()
        thread.join()
    assert ended[0].applied


def test_the_reconciler_fans_in_a_parent_left_waiting_with_its_childrens_outcome_known():
    from goals.lifecycle.states import WAIT
    from goals.models import Action, Finding
    from goals.reconciler.passes import run_pass

    parent, (child,) = parent_with_children(1)
    finish(child)
    # The worker recorded the wait, then died before the fan-in that had to follow it.
    apply_transition(WAIT, goal_id=parent.id, attempt=1, cause=Cause.EXECUTOR, budget=1, failures_allowed=0,
                     continuation="tests.family_merge").raise_if_refused()
    _, findings = run_pass(trigger="test")
    found = {(f.goal_id, f.kind): f for f in findings}
    fanned = found[(parent.id, Finding.MISSED_FAN_IN)]
    assert (fanned.action, fanned.after_state) == (Action.FANNED_IN, GoalState.QUEUED)
    assert fanned.evidence["children"] == {"total": 1, "final": 1, "failed": 0}
    parent.refresh_from_db()
    assert (parent.attempt, parent.fan_ins, fan_ins(parent)) == (2, 1, 1)
    assert run_pass(trigger="test")[1] == [], "fanned in once: the next pass finds nothing"


def test_the_reconciler_ends_a_parent_left_waiting_whose_children_decided_it_with_no_worker():
    from goals.lifecycle.states import WAIT
    from goals.models import Action, Finding
    from goals.reconciler.passes import run_pass

    parent, (child,) = parent_with_children(1)
    finish(child, FAIL, error={"type": "Boom", "message": "x", "traceback": ""})
    apply_transition(WAIT, goal_id=parent.id, attempt=1, cause=Cause.EXECUTOR, budget=1, failures_allowed=0,
                     continuation="").raise_if_refused()
    _, findings = run_pass(trigger="test")
    [fanned] = [f for f in findings if f.goal_id == parent.id]
    assert (fanned.kind, fanned.action, fanned.after_state) == (
        Finding.MISSED_FAN_IN, Action.FANNED_IN, GoalState.FAILED)
    parent.refresh_from_db()
    assert (parent.state, parent.attempt, parent.error["type"]) == (
        GoalState.FAILED, 2, "goals.exceptions.ChildrenFailed")
    assert not GoalEvent.objects.filter(goal=parent, transition="enqueue").exists(), "nothing sent"


def test_the_reconciler_cancels_an_active_child_of_an_ended_parent_and_expires_a_parent_waiting_too_long():
    from datetime import timedelta

    from django.utils import timezone

    from goals.models import Action, Finding
    from goals.reconciler.passes import run_pass

    ended = make_goal(state=GoalState.FAILED)
    orphan = make_goal(state=GoalState.QUEUED, parent=ended, child_key="left")
    late, (child,) = parent_with_children(1)
    wait(late)
    Goal.objects.filter(pk=late.pk).update(deadline=timezone.now() - timedelta(minutes=1))
    _, findings = run_pass(trigger="test")
    found = {(f.goal_id, f.kind): f.action for f in findings}
    assert found == {(orphan.id, Finding.ORPHANED_CHILD): Action.CANCELLED,
                     (late.id, Finding.WAITING_OVERDUE): Action.EXPIRED}
    assert Goal.objects.get(pk=orphan.pk).state == GoalState.CANCELLED
    assert Goal.objects.get(pk=late.pk).state == GoalState.EXPIRED
    assert Goal.objects.get(pk=child).state == GoalState.CANCELLED
    assert GoalEvent.objects.get(goal_id=child, transition="cancel").cause == Cause.PARENT


def test_a_retried_parent_spawning_again_runs_again_only_the_children_that_did_not_succeed():
    from goals.exceptions import ChildOutcomeUsed
    from goals.submitting.people import goal_retry

    parent, (failed, succeeded) = parent_with_children(2)
    finish(failed, FAIL, error={"type": "Boom", "message": "x", "traceback": ""})
    finish(succeeded)
    wait(parent, policy=WAIT_FOR_ALL)
    parent.refresh_from_db()
    apply_transition(START, goal_id=parent.id, attempt=parent.attempt, cause=Cause.EXECUTOR)
    apply_transition(FAIL, goal_id=parent.id, attempt=parent.attempt, cause=Cause.EXECUTOR,
                     error={"type": "goals.exceptions.ChildrenFailed", "message": "1 of 2", "traceback": ""})
    with pytest.raises(ChildOutcomeUsed, match="retry the parent"):
        goal_retry(goal_id=failed)

    goal_retry(goal_id=parent.id, actor="alice")
    parent.refresh_from_db()
    assert (parent.state, parent.fan_ins, parent.continuation, parent.children_final) == (GoalState.PENDING, 0, "", 2)
    apply_transition(START, goal_id=parent.id, attempt=parent.attempt, cause=Cause.EXECUTOR)
    again = spawn_children(parent_id=parent.id, attempt=parent.attempt, kind="tests.noop", params_list=[{}, {}],
                           keys=["k0", "k1"], deadline=None, actor="worker-2")
    assert again == [failed, succeeded]
    rerun, kept = Goal.objects.get(pk=failed), Goal.objects.get(pk=succeeded)
    assert (rerun.state, rerun.attempt, kept.state, kept.attempt) == (GoalState.PENDING, 2, GoalState.SUCCEEDED, 1)
    retried = GoalEvent.objects.get(goal_id=failed, transition="retry")
    assert (retried.cause, retried.actor, retried.details["reason"]) == (Cause.PARENT, "worker-2",
                                                                        "spawned again by its parent")
    parent.refresh_from_db()
    assert (parent.children_total, parent.children_final, parent.children_failed) == (2, 1, 0)


def test_a_childs_deadline_is_no_later_than_its_parents_and_its_owner_is_the_parents():
    from datetime import timedelta

    from django.contrib.auth.models import User
    from django.utils import timezone

    alice = User.objects.create_user("alice")
    soon = timezone.now() + timedelta(minutes=5)
    parent = make_goal(state=GoalState.RUNNING, owner=alice, deadline=soon)
    early, late, unbounded = spawn_children(
        parent_id=parent.id, attempt=1, kind="tests.noop", params_list=[{}], keys=["early"], actor="w",
        deadline=soon - timedelta(minutes=1)) + spawn_children(
        parent_id=parent.id, attempt=1, kind="tests.noop", params_list=[{}], keys=["late"], actor="w",
        deadline=soon + timedelta(hours=1)) + spawn_children(
        parent_id=parent.id, attempt=1, kind="tests.noop", params_list=[{}], keys=["none"], actor="w", deadline=None)
    deadlines = dict(Goal.objects.filter(parent=parent).values_list("pk", "deadline"))
    assert deadlines == {early: soon - timedelta(minutes=1), late: soon, unbounded: soon}
    assert set(Goal.objects.filter(parent=parent).values_list("owner", flat=True)) == {alice.pk}


def test_counting_a_child_in_its_waiting_parent_is_a_hot_update_of_the_parent():
    from tests.db.test_hot_updates import hot_updates_in_this_transaction

    parent, (child, _sibling) = parent_with_children(2)
    wait(parent)
    apply_transition(START, goal_id=child, attempt=1, cause=Cause.EXECUTOR)
    table = Goal._meta.db_table
    updates, hot = hot_updates_in_this_transaction(table)
    apply_transition(SUCCEED, goal_id=child, attempt=1, cause=Cause.EXECUTOR).raise_if_refused()
    assert Goal.objects.get(pk=parent.pk).children_final == 1, "counted, not fanned in: a sibling is active"
    assert hot_updates_in_this_transaction(table) == (updates + 2, hot + 1), (
        "the child's own final move touches the indexes of final goals; its parent's count touches none")


def test_pruning_takes_a_family_children_first_whatever_the_batches():
    from datetime import timedelta

    from django.utils import timezone

    from goals.pruning import prune

    top, (middle, leaf) = parent_with_children(2, kind="tests.count")
    apply_transition(START, goal_id=middle, attempt=1, cause=Cause.EXECUTOR)
    parent_with_children(3, parent=Goal.objects.get(pk=middle))
    goal_cancel(goal_id=top.id)
    Goal.objects.filter(finished_at__isnull=False).update(finished_at=timezone.now() - timedelta(days=40))
    kept = make_goal(state=GoalState.SUCCEEDED)
    counts = prune(cutoff=timezone.now() - timedelta(days=30), batch_size=2)
    assert counts.goals == 1 + 2 + 3
    assert list(Goal.objects.values_list("pk", flat=True)) == [kept.pk]
    assert leaf not in set(Goal.objects.values_list("pk", flat=True))


def fail_through_the_worker(child_id) -> None:
    """A child's attempt fails as the worker records it (``goals.submitting.moves`` and its consequences)."""
    child = Goal.objects.get(pk=child_id)
    if child.state != GoalState.RUNNING:
        apply_transition(START, goal_id=child_id, attempt=child.attempt, cause=Cause.EXECUTOR, actor="w")
    callbacks.attempt_failed(goal_id=str(child_id), attempt=child.attempt, task_id=child.task_id, worker="w",
                             error={"type": "Boom", "message": "x", "traceback": ""}, progress=None, result_row=None)


def succeed_through_the_worker(child_id) -> None:
    child = Goal.objects.get(pk=child_id)
    apply_transition(START, goal_id=child_id, attempt=child.attempt, cause=Cause.EXECUTOR, actor="w")
    callbacks.attempt_succeeded(goal_id=str(child_id), attempt=child.attempt, task_id=child.task_id, worker="w",
                                result={"ok": True}, progress=None, result_row=None)


def test_a_fail_fast_parent_with_nothing_to_continue_fails_with_its_childs_failure_and_no_worker(
        django_capture_on_commit_callbacks):
    parent, children = parent_with_children(3)
    wait(parent)
    for child in children:
        apply_transition(START, goal_id=child, attempt=1, cause=Cause.EXECUTOR, actor="w")
    with django_capture_on_commit_callbacks() as sent:
        fail_through_the_worker(children[0])
    parent.refresh_from_db()
    assert (parent.state, parent.attempt) == (GoalState.FAILED, 2), "ended, not queued behind its siblings"
    assert parent.error["type"] == "goals.exceptions.ChildrenFailed"
    assert parent.error["message"] == "1 of 3 children did not succeed (fail fast): k0 (failed)"
    assert [e.transition for e in parent.events.order_by("id")][-2:] == ["fan_in", "fail"]
    assert parent.attempts.get(number=2).outcome == AttemptOutcome.FAILED
    siblings = Goal.objects.filter(pk__in=children[1:])
    assert set(siblings.values_list("state", flat=True)) == {GoalState.CANCELLED}, "its end cancels the rest"
    assert not sent, "nothing to publish: no worker runs the parent's last attempt"


def test_a_parent_waiting_for_all_with_nothing_to_continue_succeeds_with_its_last_childs_success():
    parent, children = parent_with_children(2)
    wait(parent, policy=WAIT_FOR_ALL)
    for child in children:
        succeed_through_the_worker(child)
    parent.refresh_from_db()
    assert (parent.state, parent.result) == (GoalState.SUCCEEDED, {"children": {"total": 2, "succeeded": 2,
                                                                                "failed": 0}})
    event = parent.events.latest("id")
    assert (event.transition, event.from_state, event.attempt, event.details) == (
        "aggregate", GoalState.PENDING, 2, {"decided_by": "children"})


def test_an_ended_parent_counts_in_its_own_parent_which_ends_too_when_decided():
    top, (middle,) = parent_with_children(1, kind="tests.count")
    apply_transition(START, goal_id=middle, attempt=1, cause=Cause.EXECUTOR, actor="w")
    middle_goal = Goal.objects.get(pk=middle)
    _, (grandchild,) = parent_with_children(1, parent=middle_goal)
    wait(middle_goal)
    wait(top)
    fail_through_the_worker(grandchild)
    states = dict(Goal.objects.filter(pk__in=[top.id, middle, grandchild]).values_list("pk", "state"))
    assert states == {grandchild: GoalState.FAILED, middle: GoalState.FAILED, top.id: GoalState.FAILED}
