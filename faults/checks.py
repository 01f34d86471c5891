"""The check every scenario ends with, for every goal of its run: state against the effects ledger, the
journal monotonic, attempts within their maximum. Set-based SQL over the run's goals."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db import connection

from faults.models import Effect
from goals.lifecycle.states import FINAL_STATES, GoalState
from goals.models import Attempt, EventType, Goal, GoalEvent
from goals.querysets import sql_list

_FINAL = sql_list(sorted(state.value for state in FINAL_STATES))


@dataclass(frozen=True)
class Verdict:
    """What the check counted over one run's goals."""

    goals: int
    terminal: int
    succeeded: int
    failed: int
    not_terminal: int
    """Goals still active when the scenario ended: lost, unless the scenario gave up waiting too early."""
    runs: int
    """Executions that reached the effect (ledger rows), first runs and re-runs alike."""
    double_effects: int
    """Goals whose effect was made more than once."""
    succeeded_without_effect: int
    """Goals that say ``succeeded`` while the ledger holds no effect of theirs: the goal row lied."""
    attempt_ran_twice: int
    """Goals one of whose attempts ran more than once (a duplicate message that was not fenced off)."""
    over_max_attempts: int
    journal_violations: int
    """Goals whose transition events do not chain (from = previous to), whose attempt number goes back,
    that left a final state other than by an explicit retry, or whose row disagrees with its last event."""

    def problems(self, *, expected_goals: int | None = None) -> list[str]:
        """Every broken promise, in words; empty when the run kept them all."""
        found = []
        if expected_goals is not None and self.goals != expected_goals:
            found.append(f"{self.goals} goals recorded of {expected_goals} submitted")
        for name in ("not_terminal", "double_effects", "succeeded_without_effect", "attempt_ran_twice",
                     "over_max_attempts", "journal_violations"):
            if getattr(self, name):
                found.append(f"{name.replace('_', ' ')}: {getattr(self, name)}")
        return found

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _counts_sql() -> str:
    goal_t, attempt_t, effect_t = Goal._meta.db_table, Attempt._meta.db_table, Effect._meta.db_table
    return f"""
    WITH g AS (SELECT id, state, attempt, max_attempts FROM {goal_t} WHERE params->>'run' = %(run)s),
    ledger AS (
        SELECT goal_id, count(*) AS runs, count(*) FILTER (WHERE made) AS made,
               count(*) - count(DISTINCT attempt) AS repeated
          FROM {effect_t} WHERE goal_id IN (SELECT id FROM g) GROUP BY goal_id
    ),
    attempts AS (SELECT goal_id, count(*) AS opened FROM {attempt_t} WHERE goal_id IN (SELECT id FROM g)
                  GROUP BY goal_id)
    SELECT count(*),
           count(*) FILTER (WHERE g.state IN ({_FINAL})),
           count(*) FILTER (WHERE g.state = '{GoalState.SUCCEEDED}'),
           count(*) FILTER (WHERE g.state = '{GoalState.FAILED}'),
           count(*) FILTER (WHERE g.state NOT IN ({_FINAL})),
           COALESCE(sum(l.runs), 0)::int,
           count(*) FILTER (WHERE l.made > 1),
           count(*) FILTER (WHERE g.state = '{GoalState.SUCCEEDED}' AND COALESCE(l.made, 0) = 0),
           count(*) FILTER (WHERE l.repeated > 0),
           count(*) FILTER (WHERE g.attempt > g.max_attempts OR a.opened > g.max_attempts)
      FROM g LEFT JOIN ledger l ON l.goal_id = g.id LEFT JOIN attempts a ON a.goal_id = g.id
    """


def _journal_sql() -> str:
    goal_t, event_t = Goal._meta.db_table, GoalEvent._meta.db_table
    return f"""
    WITH g AS (SELECT id, state, attempt FROM {goal_t} WHERE params->>'run' = %(run)s),
    t AS (
        SELECT e.goal_id, e.transition, e.from_state, e.to_state, e.attempt,
               lag(e.to_state) OVER w AS previous_to, lag(e.attempt) OVER w AS previous_attempt,
               row_number() OVER (PARTITION BY e.goal_id ORDER BY e.id DESC) AS from_last
          FROM {event_t} e
         WHERE e.event = '{EventType.TRANSITION}' AND e.goal_id IN (SELECT id FROM g)
        WINDOW w AS (PARTITION BY e.goal_id ORDER BY e.id)
    )
    SELECT count(DISTINCT t.goal_id)
      FROM t JOIN g ON g.id = t.goal_id
     WHERE (t.previous_to IS NOT NULL AND t.from_state <> t.previous_to)
        OR t.attempt < t.previous_attempt
        OR (t.previous_to IN ({_FINAL}) AND t.transition <> 'retry')
        OR (t.from_last = 1 AND (t.to_state <> g.state OR t.attempt <> g.attempt))
    """


def verify(run: str) -> Verdict:
    """Count, for every goal submitted with ``{"run": run}``, what its row, journal and ledger say."""
    with connection.cursor() as cursor:
        cursor.execute(_counts_sql(), {"run": run})
        counts = cursor.fetchone()
        cursor.execute(_journal_sql(), {"run": run})
        (journal,) = cursor.fetchone()
    return Verdict(*counts, journal_violations=journal)
