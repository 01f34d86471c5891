"""One exception hierarchy for goals: precise subclasses that carry the goal and the states involved."""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import ValidationError


class GoalError(Exception):
    """Base class of every error goaltrack raises on purpose."""


class GoalNotFound(GoalError):
    def __init__(self, goal_id: UUID | str) -> None:
        self.goal_id = goal_id
        super().__init__(f"goal {goal_id} does not exist")


class TransitionNotAllowed(GoalError):
    """The goal was not in a state (or at the attempt) from which this transition is allowed.

    Raised after the conditional UPDATE changed nothing, so ``source`` and ``attempt`` are what the row
    held when the transition was refused.
    """

    def __init__(self, *, goal_id: UUID | str, transition: str, source: str, target: str,
                 attempt: int, expected_attempt: int | None = None) -> None:
        self.goal_id = goal_id
        self.transition = transition
        self.source = source
        self.target = target
        self.attempt = attempt
        self.expected_attempt = expected_attempt
        stale = (
            f" (attempt {expected_attempt} is stale, the goal is at attempt {attempt})"
            if expected_attempt is not None and expected_attempt != attempt
            else ""
        )
        super().__init__(f"goal {goal_id}: cannot {transition} from {source} to {target}{stale}")


class ChildOutcomeUsed(TransitionNotAllowed):
    """A retry of a child whose parent has already fanned in on its outcome (or ended): the parent's
    retry runs it again instead."""

    def __init__(self, *, goal_id: UUID | str, source: str, attempt: int, parent_id: UUID | str,
                 parent_state: str) -> None:
        super().__init__(goal_id=goal_id, transition="retry", source=source, target="pending", attempt=attempt)
        self.parent_id, self.parent_state = parent_id, parent_state
        self.args = (f"goal {goal_id}: its parent {parent_id} ({parent_state}) has gone on without it; retry the "
                     "parent, which runs its children that did not succeed again",)


class GoalNoLongerRunning(GoalError):
    """Raised inside an executor when its attempt was cancelled, expired or superseded.

    Executors need not catch it: it stops the work, and the attempt's callbacks are fenced off.
    """

    def __init__(self, goal_id: UUID | str, attempt: int) -> None:
        self.goal_id = goal_id
        self.attempt = attempt
        super().__init__(f"goal {goal_id}: attempt {attempt} is no longer running")


class GoalValidationError(ValidationError, GoalError):
    """Bad input to ``submit``: unknown kind, params that do not fit the executor, oversize params."""


class ResultNotSerializable(GoalError):
    """An executor returned something JSON cannot hold; the goal fails with this error."""


class UnknownExecutor(GoalError):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__(f"no executor is registered for kind {kind!r}")


class GoalBehindMessage(GoalError):
    """A task message arrived for an attempt the goal has not reached yet: the previous attempt, still
    running, has published its retry but not yet recorded it. The message must wait, not be dropped."""

    def __init__(self, goal_id: object, goal_attempt: int, message_attempt: int) -> None:
        super().__init__(f"goal {goal_id} is at attempt {goal_attempt}, behind the message's {message_attempt}")
        self.goal_id, self.goal_attempt, self.message_attempt = goal_id, goal_attempt, message_attempt


class ChildrenOutcomeError(GoalError):
    """A parent's outcome, decided by its children: never retried (the children's own attempts were)."""


class ChildrenFailed(ChildrenOutcomeError):
    """More of a goal's children failed than its policy tolerates."""


class ChildrenNotAwaited(ChildrenOutcomeError):
    """An executor started children but returned without ``ctx.wait_for_children()``."""
