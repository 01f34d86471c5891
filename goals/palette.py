"""The colour of each state, wherever a state is drawn: the admin's badges, the goal page, the goal list.

One palette, so a state reads the same on every page (the progress page once drew queued goals grey
while the admin drew them blue).
"""

from __future__ import annotations

from goals.lifecycle.states import GoalState

STATE_COLOURS: dict[str, str] = {
    GoalState.SCHEDULED: "#8a8f94",
    GoalState.PENDING: "#6c757d",
    GoalState.QUEUED: "#0d6efd",
    GoalState.RUNNING: "#0aa2c0",
    GoalState.RETRYING: "#fd7e14",
    GoalState.HELD: "#b02a6b",
    GoalState.WAITING: "#9a6200",
    GoalState.SUCCEEDED: "#198754",
    GoalState.FAILED: "#dc3545",
    GoalState.CANCELLED: "#495057",
    GoalState.EXPIRED: "#6f42c1",
}
UNKNOWN_STATE_COLOUR = "#333"
