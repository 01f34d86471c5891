"""The reconciler's look at concurrency limits (``goals.executors.limits``): each limited key's counts against
its goals, and held goals a free slot can take.

Every start and end keeps a key's counts in the statement that moves its goal, so a count that disagrees
means something wrote around them (a goal row edited by hand, a restore); a slot held by an attempt that no
longer runs is freed by the move that ends it, which the reconciler's own repairs of a lost worker make.
What is left to find: counts that disagree, recounted under the keys' locks, and held goals that no end
admitted (a process that died between an end and its admit), admitted and sent.
"""

from __future__ import annotations

from django.db import transaction

from goals.lifecycle import store
from goals.lifecycle.states import GoalState
from goals.lifecycle.transitions import Dispatch, admit_held
from goals.models import Action, Finding, ReconciliationFinding, ReconciliationReport
from goals.submitting.publish import publish_attempts


def reconcile_slots(report: ReconciliationReport, *, dry_run: bool, actor: str,
                    only: list[str] | None = None) -> list[ReconciliationFinding]:
    """Recount every limited key and admit the held goals a free slot can take, in one transaction; the
    admitted are sent once it commits. Returns the findings (saved unless ``dry_run``)."""
    wanted = {Finding.SLOTS_MISCOUNTED, Finding.HELD_SLOT_FREE} & set(only or Finding.values)
    if not wanted:
        return []
    findings: list[ReconciliationFinding] = []
    admitted: list[Dispatch] = []
    with transaction.atomic():
        rows = store.recount_slots(repair=not dry_run)
        for kind, key, capacity, was_running, was_held, running, held in rows:
            evidence = {"kind": kind, "key": key, "capacity": capacity, "running": running, "held": held}
            if (was_running, was_held) != (running, held) and Finding.SLOTS_MISCOUNTED in wanted:
                findings.append(ReconciliationFinding(
                    report=report, kind=Finding.SLOTS_MISCOUNTED,
                    action=Action.REPORTED if dry_run else Action.RECOUNTED,
                    evidence={**evidence, "counted_running": was_running, "counted_held": was_held}))
        free = {(kind, key) for kind, key, capacity, *_, running, held in rows if held and running < capacity}
        if Finding.HELD_SLOT_FREE in wanted and free and not dry_run:
            admitted = admit_held(free, cause="reconciler", actor=actor)
        elif Finding.HELD_SLOT_FREE in wanted and free:
            findings += [ReconciliationFinding(report=report, kind=Finding.HELD_SLOT_FREE, action=Action.REPORTED,
                                               evidence={"kind": kind, "key": key}) for kind, key in sorted(free)]
    # Published once committed; one not sent stays pending with its slot, for the next pass to send.
    sent = publish_attempts(dispatches=admitted) if admitted else set()
    findings += [ReconciliationFinding(report=report, goal_id=d.goal_id, task_id=d.task_id,
                                       kind=Finding.HELD_SLOT_FREE,
                                       action=Action.ADMITTED if str(d.goal_id) in sent else Action.SEND_FAILED,
                                       before_state=GoalState.HELD, after_state=GoalState.PENDING,
                                       attempt=d.attempt, evidence={"kind": d.kind})
                 for d in admitted]
    if not dry_run:
        ReconciliationFinding.objects.bulk_create(findings)
    return findings
