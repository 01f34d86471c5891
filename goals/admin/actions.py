"""Review actions (retry, cancel, acknowledge): a reason asked for, the services called, each outcome told.

The admin never writes a goal itself: each action goes through the same fenced services as the API,
with the admin user as the actor, so a refused transition is refused here too and reported, not hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import HttpRequest

from goals.actors import person_name
from goals.exceptions import GoalNotFound, TransitionNotAllowed
from goals.lifecycle.states import CANCEL, RETRY, TRANSITIONS, GoalState
from goals.models import Cause, Goal
from goals.submitting.people import goal_cancel, goal_retry
from goals.submitting.review import goal_acknowledge

# Messages about refused goals shown one by one; beyond this they are counted.
_REFUSALS_SHOWN = 50


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
                             help_text="Recorded in each goal's journal with your user name.")


@dataclass(frozen=True)
class ReviewAction:
    name: str
    verb: str
    past: str
    apply: Callable[[UUID, str, str], str | None]
    """Does it to one goal; returns None when done, or why it was refused."""
    offered: Callable[[Goal], bool]
    """Whether the goal, as last read, is one the action may apply to: its button is shown only then. The
    action itself still decides in the database, so a goal that moved on meanwhile is refused and reported."""


def _retry(goal_id: UUID, actor: str, reason: str) -> str | None:
    goal_retry(goal_id=goal_id, actor=actor, reason=reason, cause=Cause.ADMIN)
    return None


def _cancel(goal_id: UUID, actor: str, reason: str) -> str | None:
    goal_cancel(goal_id=goal_id, actor=actor, reason=reason, cause=Cause.ADMIN)
    return None


def _acknowledge(goal_id: UUID, actor: str, reason: str) -> str | None:
    if goal_acknowledge(goal_id=goal_id, actor=actor, reason=reason, cause=Cause.ADMIN):
        return None
    return f"goal {goal_id} is not flagged for review"


REVIEW_ACTIONS: dict[str, ReviewAction] = {
    action.name: action
    for action in (
        ReviewAction("retry", "Retry", "retried", _retry, lambda goal: RETRY.allows(goal.state)),
        ReviewAction("cancel", "Cancel", "cancelled", _cancel, lambda goal: CANCEL.allows(goal.state)),
        # Acknowledging clears the review flag and leaves the state alone: any state, flagged goals only.
        ReviewAction("acknowledge", "Acknowledge", "acknowledged", _acknowledge, lambda goal: goal.needs_review),
    )
}


def offered_actions(goal: Goal) -> list[ReviewAction]:
    """The review actions the goal's page offers: those its state (or review flag) allows."""
    return [action for action in REVIEW_ACTIONS.values() if action.offered(goal)]


def refusal_message(exc: TransitionNotAllowed) -> str:
    """The service's refusal, with the states the transition is allowed from, so a reviewer sees which goals
    the action is for rather than only which state it is not for."""
    transition = TRANSITIONS.get(exc.transition)
    if transition is None:
        return str(exc)
    *others, last = [state.value for state in GoalState if transition.allows(state)]
    sources = f"{', '.join(others)} or {last}" if others else last
    return f"{exc}; {exc.transition} applies only to goals that are {sources}"


def apply_review_action(request: HttpRequest, action: ReviewAction, goal_ids: Iterable[UUID], reason: str,
                        message_user: Callable[..., None]) -> tuple[list[UUID], list[str]]:
    """Apply ``action`` to each goal and tell the user what happened to each; returns (done, refusals)."""
    actor = person_name(request.user)
    done: list[UUID] = []
    refusals: list[str] = []
    for goal_id in goal_ids:
        try:
            refusal = action.apply(goal_id, actor, reason)
        except TransitionNotAllowed as exc:
            refusal = refusal_message(exc)
        except GoalNotFound as exc:
            refusal = str(exc)
        if refusal is None:
            done.append(goal_id)
        else:
            refusals.append(refusal)
    if done:
        listed = ", ".join(str(goal_id) for goal_id in done)
        message_user(request, f"{action.past.capitalize()} {len(done)} goal(s): {listed}", messages.SUCCESS)
    for refusal in refusals[:_REFUSALS_SHOWN]:
        message_user(request, f"Not {action.past}: {refusal}", messages.WARNING)
    if len(refusals) > _REFUSALS_SHOWN:
        message_user(request, f"... and {len(refusals) - _REFUSALS_SHOWN} more refused", messages.WARNING)
    return done, refusals
