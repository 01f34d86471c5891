"""Goals submitted with ``submit_many`` reach the real worker once committed, and all succeed."""

from __future__ import annotations

import pytest

from goals.api import submit_many
from goals.lifecycle.states import GoalState
from tests.conftest import wait_final


@pytest.mark.worker
def test_every_goal_of_a_bulk_submit_is_sent_after_commit_and_succeeds(worker):
    goals = submit_many("tests.typed", [{"name": f"n{i}", "size": i} for i in range(20)])
    finished = [wait_final(goal.pk) for goal in goals]
    assert {goal.state for goal in finished} == {GoalState.SUCCEEDED}
    assert [goal.result for goal in finished] == [{"name": f"n{i}", "size": i} for i in range(20)]
