"""The transition table itself (pure logic, no database)."""

from goals.lifecycle.states import ACTIVE_STATES, FINAL_STATES, TRANSITIONS, GoalState, allowed_pairs


def test_final_and_active_states_partition_all_states():
    assert set(GoalState) == FINAL_STATES | ACTIVE_STATES
    assert not FINAL_STATES & ACTIVE_STATES
    assert {s.value for s in FINAL_STATES} == {"succeeded", "failed", "cancelled", "expired"}


def test_states_are_stored_as_lowercase_words():
    assert GoalState.values == ["scheduled", "pending", "queued", "running", "retrying", "held", "waiting",
                                "succeeded", "failed", "cancelled", "expired"]


def test_nothing_leaves_succeeded_and_final_states_leave_only_by_explicit_retry():
    for source in FINAL_STATES:
        leaving = {t.name for t in TRANSITIONS.values() if t.allows(source)}
        assert leaving == (set() if source == GoalState.SUCCEEDED else {"retry"})


def test_transitions_that_reopen_a_goal_open_a_new_attempt():
    for transition in TRANSITIONS.values():
        # A scheduled goal's first attempt was never sent: releasing it keeps that attempt. A held goal's
        # attempt never ran: admitting or releasing it keeps that attempt too.
        if transition.target == GoalState.PENDING and not transition.sources <= {GoalState.SCHEDULED,
                                                                                   GoalState.HELD}:
            assert transition.new_attempt, transition.name
    assert (GoalState.RUNNING, GoalState.PENDING) in allowed_pairs()
    assert (GoalState.SUCCEEDED, GoalState.PENDING) not in allowed_pairs()
