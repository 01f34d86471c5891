-- name: report_progress
-- The running attempt reports progress and says it is alive; no row changed means the attempt is no
-- longer running (cancelled, expired, superseded) and the executor stops. Lost in a database crash it
-- is harmless (the next report or the final state carries it): committed without waiting for the disk.
WITH relaxed AS (
    SELECT set_config('synchronous_commit', 'off', true)
)
UPDATE goals_goal
   SET progress_current = %(current)s::bigint, progress_total = %(total)s::bigint,
       progress_message = %(message)s::text, heartbeat_at = now()
  FROM relaxed
 WHERE id = %(goal_id)s::uuid AND attempt = %(attempt)s::integer AND state = 'running'

-- name: flag_for_review
-- Flag goals for a person to review, each fenced on the state and attempt it was judged at and not
-- flagged already, and journal each flag; from a JSON array of {goal_id, state, attempt, reason,
-- details}. Returns the goals flagged. The state does not change.
WITH flagged AS (
    UPDATE goals_goal AS g
       SET needs_review = true, review_reason = f.reason
      FROM jsonb_to_recordset(%(flags)s::jsonb)
           AS f(goal_id uuid, state text, attempt integer, reason text, details jsonb)
     WHERE g.id = f.goal_id AND g.state = f.state AND g.attempt = f.attempt AND NOT g.needs_review
 RETURNING g.id, g.state, g.attempt, g.task_id, f.reason, f.details
)
INSERT INTO goals_goalevent
       (goal_id, created_at, event, transition, from_state, to_state, attempt, task_id, cause, actor, details)
SELECT id, now(), 'flagged', '', state, state, attempt, task_id, %(cause)s::text, %(actor)s::text,
       COALESCE(details, '{}') || jsonb_build_object('reason', reason)
  FROM flagged
RETURNING goal_id

-- name: acknowledge_review
-- A person clears a goal's review flag, journaled with who and why; no row when it is not flagged
-- (someone acknowledged it first).
WITH cleared AS (
    UPDATE goals_goal
       SET needs_review = false, review_reason = ''
     WHERE id = %(goal_id)s::uuid AND needs_review
 RETURNING id, state, attempt, task_id
)
INSERT INTO goals_goalevent
       (goal_id, created_at, event, transition, from_state, to_state, attempt, task_id, cause, actor, details)
SELECT id, now(), 'acknowledged', '', state, state, attempt, task_id, %(cause)s::text, %(actor)s::text,
       jsonb_build_object('reason', %(reason)s::text)
  FROM cleared
RETURNING goal_id

-- name: journal_publish_failures
-- The broker could not be reached: journal "publish_failed" for each attempt not sent, which stays
-- pending for the reconciler to send again.
INSERT INTO goals_goalevent
       (goal_id, created_at, event, transition, from_state, to_state, attempt, task_id, cause, actor, details)
SELECT i.goal_id, now(), 'publish_failed', '', '', '', i.attempt, i.task_id, 'publisher', %(actor)s::text,
       jsonb_build_object('error', %(error)s::text)
  FROM unnest(%(goal_ids)s::uuid[], %(attempts)s::integer[], %(task_ids)s::text[]) AS i(goal_id, attempt, task_id)

-- name: delete_final_goals
-- Retention: delete up to a limit of final goals finished before the cutoff, oldest first, with their
-- attempts, journal and the outside events sent to them or consumed by them; a parent only once its
-- children are gone (a later batch).
WITH doomed AS (
    SELECT id
      FROM goals_goal g
     WHERE finished_at < %(cutoff)s::timestamptz  -- only final goals have finished
       AND NOT EXISTS (SELECT FROM goals_goal c WHERE c.parent_id = g.id)
     ORDER BY finished_at
     LIMIT %(limit)s::integer
       FOR UPDATE SKIP LOCKED
),
events AS (
    DELETE FROM goals_goalevent WHERE goal_id IN (SELECT id FROM doomed)
),
attempts AS (
    DELETE FROM goals_attempt WHERE goal_id IN (SELECT id FROM doomed)
),
outside_events AS (
    -- An event sent to a goal by id is consumed by that goal or by none: each side has its partial index.
    DELETE FROM goals_externalevent
     WHERE (goal_id IN (SELECT id FROM doomed) AND consumed_at IS NULL) OR consumed_by_id IN (SELECT id FROM doomed)
)
DELETE FROM goals_goal WHERE id IN (SELECT id FROM doomed)

-- name: delete_unconsumed_events
-- Retention: delete up to a limit of outside events no goal consumed, received before the cutoff, oldest
-- first (the index of unconsumed events by age finds them). Returns how many.
WITH doomed AS (
    SELECT id
      FROM goals_externalevent
     WHERE consumed_at IS NULL AND received_at < %(cutoff)s::timestamptz
     ORDER BY received_at
     LIMIT %(limit)s::integer
       FOR UPDATE SKIP LOCKED
)
DELETE FROM goals_externalevent WHERE id IN (SELECT id FROM doomed)

-- name: delete_reports
-- Retention: delete up to a limit of reconciliation reports started before the cutoff, oldest first,
-- with their findings.
WITH doomed AS (
    SELECT id
      FROM goals_reconciliationreport
     WHERE started_at < %(cutoff)s::timestamptz
     ORDER BY started_at
     LIMIT %(limit)s::integer
),
findings AS (
    DELETE FROM goals_reconciliationfinding WHERE report_id IN (SELECT id FROM doomed)
)
DELETE FROM goals_reconciliationreport WHERE id IN (SELECT id FROM doomed)

-- name: compact_journals
-- Compaction: for the next batch of goals finished between since and cutoff (after a cursor of
-- finished_at and id), delete the detail rows of their journals (causes and events as goals.pruning
-- names them: what workers and the publisher wrote on the way), keeping each goal's last transition. Returns the rows deleted, the batch's last (finished_at, id) and its size.
WITH batch AS MATERIALIZED (
    SELECT id, finished_at
      FROM goals_goal
     WHERE finished_at < %(cutoff)s::timestamptz AND finished_at >= %(since)s::timestamptz
       AND (finished_at, id) > (%(after_at)s::timestamptz, %(after_id)s::uuid)
     ORDER BY finished_at, id
     LIMIT %(limit)s::integer
),
doomed AS (
    DELETE FROM goals_goalevent AS e
     USING batch
     WHERE e.goal_id = batch.id
       AND e.cause = ANY(%(causes)s::text[]) AND e.event = ANY(%(events)s::text[])  -- the detail rows
       AND e.id <> (SELECT max(last.id) FROM goals_goalevent AS last
                     WHERE last.goal_id = batch.id AND last.event = 'transition')
 RETURNING 1
)
SELECT (SELECT count(*) FROM doomed), last.finished_at, last.id, (SELECT count(*) FROM batch)
  FROM (SELECT finished_at, id FROM batch ORDER BY finished_at DESC, id DESC LIMIT 1) AS last
