"""The family parts of a transition's statement: a child's end counted by its parent, the fan-in it may
fire, and a parent's end cancelling its active descendants. ``goals.transitions`` puts them in the one
statement of the transition, so none of them costs a statement of its own.

Locks are taken ancestors first, everywhere: the statement locks the goals' parents (``parents``) before
the goals (``old``), and a parent's descendants by depth after the parent. A child finishing while its
parent is cancelled therefore waits for the parent's statement, or the parent's for the child's, and two
of them never wait for each other. (The reconciler, which holds goals it claimed before it moves them,
claims their parents with ``SKIP LOCKED`` at the same time: it never waits for a parent while holding a
child.)

A parent's counts are kept while it is active: the child's final transition adds itself (a retry of a
failed child takes itself back out), and once the parent is final its counts say every child is final,
which the cascade that ended it made true.
"""

from __future__ import annotations

from goals.models import Attempt, Cause, EventType, Goal
from goals.results import finish_sql
from goals.states import CANCEL, FAN_IN, FINAL_STATES, RETRY, GoalState, Transition

# When a phase began: the clock once the row is locked (see goals.transitions).
AT = "clock_timestamp()"

# Set by every move to a final state, of the goal and of each descendant it cancels: all its children
# are final now (the cascade ended the rest, each counted as not succeeded).
FINAL_COUNTS = ("children_failed = g.children_failed + (g.children_total - g.children_final)",
                "children_final = g.children_total")

# What ``fan_in`` sets besides the state, the attempt and the task id.
FAN_IN_SETS = ("queued_at = NULL", "started_at = NULL", "heartbeat_at = NULL", "fan_ins = g.fan_ins + 1")


def run_kind(goal: str) -> str:
    """SQL: the executor that runs the goal's current (or, waiting, next) attempt (``goals.run_kind``)."""
    return f"goals_run_kind({goal}.kind, {goal}.continuation)"


def touches_parent(transition: Transition) -> bool:
    """Whether the transition changes what a parent counts: a child's end, or a failed child's retry."""
    return transition.target in FINAL_STATES or transition is RETRY


def fan_in_due(goal: str, *, finals: str = "0", failures: str = "0") -> str:
    """SQL: the children of ``goal`` have an outcome once ``finals`` more are final and ``failures`` more
    failed: every one is final, or more failed than its policy tolerates (NULL: wait for all)."""
    allowed = f"COALESCE({goal}.child_failures_allowed, {goal}.children_total)"
    return (f"({goal}.children_final + {finals} >= {goal}.children_total"
            f" OR {goal}.children_failed + {failures} > {allowed})")


def parents_lock(many: bool) -> str:
    """``parents``: the parents of the goals the statement moves, locked before the goals are."""
    goal_t = Goal._meta.db_table
    if many:
        children = (f"SELECT c.parent_id FROM jsonb_to_recordset(%(items)s::jsonb) AS i(goal_id uuid)"
                    f" JOIN {goal_t} c ON c.id = i.goal_id")
        order = " ORDER BY p.id"
    else:
        children, order = f"SELECT c.parent_id FROM {goal_t} c WHERE c.id = %(goal_id)s", ""
    return f"""parents AS (
        SELECT p.id, p.state, p.children_total, p.children_final, p.children_failed, p.child_failures_allowed
          FROM {goal_t} p
         WHERE p.id IN ({children}){order}
           FOR UPDATE OF p
    ),
    """


# ``old`` names this so that the parents are locked (an InitPlan run before any goal row is) first.
AFTER_PARENTS = "(SELECT count(*) FROM parents) >= 0"


def counting(transition: Transition) -> str:
    """CTEs that count the moved goals in their active parents, and fan in those whose children's outcome
    this makes known (``fan_in``, journaled with the statement's cause and the child that fired it)."""
    goal_t, attempt_t = Goal._meta.db_table, Attempt._meta.db_table
    if transition is RETRY:
        # A retried child was failed, cancelled or expired: it leaves both counts. Its parent cannot have
        # fanned in on it (``retry_allowed`` below), so nothing fires.
        tally = "-count(*) AS finals, -count(*) AS failures"
        fires = "false"
    else:
        tally = f"count(*) AS finals, count(*) FILTER (WHERE m.state <> '{GoalState.SUCCEEDED}') AS failures"
        due = fan_in_due("p", finals="t.finals", failures="t.failures")
        fires = f"COALESCE(p.state = ANY(%(fan_in_sources)s) AND {due}, false)"
    fan_in_sets = [f"state = CASE WHEN f.fires THEN '{FAN_IN.target}' ELSE g.state END",
                   "attempt = CASE WHEN f.fires THEN g.attempt + 1 ELSE g.attempt END",
                   "task_id = CASE WHEN f.fires THEN gen_random_uuid()::text ELSE g.task_id END"]
    for assignment in FAN_IN_SETS:
        column, value = (part.strip() for part in assignment.split("=", 1))
        fan_in_sets.append(f"{column} = CASE WHEN f.fires THEN {value} ELSE g.{column} END")
    waiting = f"g.state = '{GoalState.WAITING}'"
    return f"""
    tally AS (
        SELECT m.parent_id AS id, {tally}, min(m.id::text) AS child
          FROM moved m
         WHERE m.parent_id IS NOT NULL AND m.parent_id NOT IN (SELECT id FROM moved)
         GROUP BY m.parent_id
    ),
    fanning AS (
        SELECT p.id, t.finals, t.failures, t.child, {fires} AS fires
          FROM parents p JOIN tally t ON t.id = p.id
    ),
    counted AS (
        UPDATE {goal_t} AS g
           SET children_final = g.children_final + f.finals, children_failed = g.children_failed + f.failures,
               progress_current = CASE WHEN {waiting} THEN g.children_final + f.finals ELSE g.progress_current END,
               {", ".join(fan_in_sets)}
          FROM fanning f
         WHERE g.id = f.id AND g.finished_at IS NULL
     RETURNING g.id, g.kind, g.continuation, g.attempt, g.task_id, g.state, f.fires, f.child
    ),
    fanned_attempts AS (
        INSERT INTO {attempt_t} (goal_id, number, task_id, worker, created_at, outcome)
        SELECT id, attempt, task_id, '', now(), '' FROM counted WHERE fires
    ),"""


def retry_allowed() -> str:
    """SQL (of ``g``, the goal): a child may be retried only while its parent has not fanned in on its
    outcome, that is while the parent is running (spawning) or waiting."""
    active = ", ".join(f"'{state}'" for state in (GoalState.RUNNING, GoalState.WAITING))
    return f"(g.parent_id IS NULL OR EXISTS (SELECT FROM parents p WHERE p.id = g.parent_id AND p.state IN ({active})))"


def cascade(*, results: bool) -> str:
    """CTEs that cancel every active descendant of the goals the statement made final, locked by depth
    (after their ancestors) and journaled with cause ``parent``; with ``results``, their task ids' result
    rows end as REVOKED, as a cancel's do."""
    goal_t, attempt_t = Goal._meta.db_table, Attempt._meta.db_table
    cancelled = CANCEL.target.value
    ends = f"""
    cascade_results AS ({finish_sql("cascaded", except_current=False)}
    ),""" if results else ""
    return f"""
    tree(id, depth) AS (
        SELECT c.id, 1 FROM {goal_t} c JOIN moved m ON c.parent_id = m.id
         WHERE m.children_total > 0 AND c.parent_id IS NOT NULL AND c.finished_at IS NULL
           AND c.id NOT IN (SELECT id FROM moved)
        UNION ALL
        SELECT c.id, t.depth + 1 FROM {goal_t} c JOIN tree t ON c.parent_id = t.id
         WHERE c.parent_id IS NOT NULL AND c.finished_at IS NULL
    ),
    doomed AS (
        SELECT c.id, c.state FROM {goal_t} c JOIN tree t ON t.id = c.id
         WHERE c.finished_at IS NULL
         ORDER BY t.depth, c.id
           FOR UPDATE OF c
    ),
    cascaded AS (
        UPDATE {goal_t} AS g
           SET state = '{cancelled}', finished_at = {AT}, final_state = '{cancelled}', {", ".join(FINAL_COUNTS)}
          FROM doomed d
         WHERE g.id = d.id
     RETURNING g.id, g.parent_id, d.state AS from_state, g.state, g.attempt, g.task_id, g.result, g.error
    ),
    cascade_closed AS (
        UPDATE {attempt_t} AS a
           SET finished_at = COALESCE(a.finished_at, {AT}), outcome = '{cancelled}'
          FROM cascaded c
         WHERE a.goal_id = c.id AND a.number = c.attempt AND a.finished_at IS NULL
    ),{ends}"""


def journal_rows(transition: Transition) -> str:
    """``UNION ALL`` arms of the statement's journal insert: the fan-ins it fired, the descendants it
    cancelled."""
    transition_event = EventType.TRANSITION.value
    arms = []
    if transition.target in FINAL_STATES:
        arms.append(f"""
        UNION ALL
        SELECT c.id, now(), '{transition_event}', '{FAN_IN.name}', '{GoalState.WAITING}', c.state, c.attempt,
               c.task_id, %(cause)s, %(actor)s, jsonb_build_object('child', c.child)
          FROM counted c WHERE c.fires
        UNION ALL
        SELECT c.id, now(), '{transition_event}', '{CANCEL.name}', c.from_state, c.state, c.attempt, c.task_id,
               '{Cause.PARENT.value}', %(actor)s, jsonb_build_object('parent', c.parent_id)
          FROM cascaded c""")
    return "".join(arms)
