"""Moving goals with the consequences of the move: the one way every caller applies a transition.

A move may open attempts that must be published once it commits (``TransitionOutcome.to_send``): the
goal's own next attempt (a redispatch, a retry, a fan-in) and the attempt of a parent that a child's end
fanned in. ``move`` and ``move_many`` hand them to the sender after the caller's transaction commits, so
no path can forget one (nor the timer that releases a goal a move gives a start time soon:
``goals.submitting.timers``): the worker's callbacks, a person's cancel or retry (Python, HTTP, the admin) and
a parent spawning its children again all move goals here. A parent fanned in with nothing to continue is
ended here too, with no worker (``goals.submitting.conclusions``). The reconciler, which reports whether
each repair's attempt went out, publishes the same ``to_send`` itself once its batch commits
(``send=False``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from django.db import transaction

from goals.ids import new_task_id
from goals.lifecycle.states import Transition
from goals.lifecycle.transitions import (
    Dispatch,
    GoalMove,
    TransitionOutcome,
    admit_held,
    apply_transition,
    apply_transitions,
)
from goals.submitting import timers
from goals.submitting.conclusions import conclude_parents
from goals.submitting.sender import send_many


def move(transition: Transition, **kwargs: Any) -> TransitionOutcome:
    """``apply_transition`` (same arguments), then a parent it fanned in ended if it needs no worker
    (``goals.submitting.conclusions``), and the attempts it opened sent once the transaction commits (at
    once outside one)."""
    outcome = apply_transition(transition, **kwargs)
    conclude_parents([outcome], cause=kwargs["cause"], actor=kwargs.get("actor", ""), move=move)
    send_after_commit([outcome], admit_freed([outcome], cause=kwargs["cause"], actor=kwargs.get("actor", "")))
    if outcome.applied and kwargs.get("run_after") is not None:
        timers.arm_after_commit([kwargs["run_after"]])  # a new start time, or a wait's deadline
    return outcome


def move_many(transition: Transition, moves: list[GoalMove], *, send: bool = True, **kwargs: Any
              ) -> list[TransitionOutcome]:
    """``apply_transitions`` (same arguments), then the parents they fanned in ended where no worker is
    needed, and the attempts they opened sent once the transaction commits; with ``send=False`` the
    caller publishes every outcome's ``to_send`` itself (what an ended parent's own end opens is sent here
    all the same)."""
    outcomes = apply_transitions(transition, moves, **kwargs)
    conclude_parents(outcomes, cause=kwargs["cause"], actor=kwargs.get("actor", ""), move=move)
    admitted = admit_freed(outcomes, cause=kwargs["cause"], actor=kwargs.get("actor", ""))
    send_after_commit(outcomes if send else [], admitted)
    if kwargs.get("run_after") is not None and any(outcome.applied for outcome in outcomes):
        timers.arm_after_commit([kwargs["run_after"]])
    return outcomes


def admit_freed(outcomes: Sequence[TransitionOutcome], *, cause: str, actor: str) -> list[Dispatch]:
    """The held goals admitted to the slots these moves freed (none for a kind with no limit: no statement)."""
    return admit_held({key for outcome in outcomes for key in outcome.admit_keys}, cause=cause, actor=actor)


def send_after_commit(outcomes: Sequence[TransitionOutcome], admitted: Sequence[Dispatch] = ()) -> None:
    """Hand the attempts these moves opened, and the held goals they admitted, to the sender once the
    transaction commits, each once."""
    dispatches = {(str(d.goal_id), d.attempt): d for outcome in outcomes for d in outcome.to_send}
    dispatches.update({(str(d.goal_id), d.attempt): d for d in admitted})
    if dispatches:
        transaction.on_commit(partial(send_many, list(dispatches.values())))


def move_claimed(transition: Transition, claim: Callable[[int], list], *, batch_size: int, cause: str, actor: str,
                 opens_attempt: bool = False) -> int:
    """Move every goal ``claim(limit)`` locks (``SKIP LOCKED``, up to ``limit``) by ``transition``, a batch per
    transaction, until a batch comes back short; each goal gets a new task id when the move opens an
    attempt. Returns how many moved: the release of due goals and the timeout of waits."""
    moved = 0
    while True:
        with transaction.atomic():
            claimed = claim(batch_size)
            if claimed:
                moves = [GoalMove(goal_id=goal_id, attempt=None, new_task_id=new_task_id() if opens_attempt else None)
                         for goal_id in claimed]
                moved += sum(outcome.applied for outcome in move_many(transition, moves, cause=cause, actor=actor))
        if len(claimed) < batch_size:
            return moved
