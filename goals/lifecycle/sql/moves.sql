-- name: move_goals
-- Move a set of goals by one transition, each fenced on its state and attempt, with its attempt rows,
-- its journal, its task result rows and its family (parents counted, fanned in; descendants cancelled).
--
-- What varies between transitions is a parameter (goals.lifecycle.transitions builds them from the
-- transition table in goals.lifecycle.states); what varies between goals is a column of %(items)s::jsonb, a JSON array
-- of {goal_id, want_attempt, new_task_id, in_details, in_result, in_error, closed_outcome,
-- caller_task_id, event_id}; a goal's event_id is the outside event its resume consumes. A goal whose state is not a source, or whose attempt is not the one its caller
-- wants, is not moved: with %(journal_refusal)s::boolean its refusal is journaled as "ignored" instead.
-- Locks are taken ancestors first: the goals' parents, then the goals, then their descendants by depth.
-- Phase timestamps are clock_timestamp(), read once the rows are locked, never the statement's start.
WITH RECURSIVE parents AS (
    SELECT p.id, p.state, p.children_total, p.children_final, p.children_failed, p.child_failures_allowed
      FROM goals_goal p
     WHERE p.id IN (SELECT c.parent_id
                      FROM jsonb_to_recordset(%(items)s::jsonb) AS i(goal_id uuid)
                      JOIN goals_goal c ON c.id = i.goal_id)
     ORDER BY p.id
       FOR UPDATE OF p
),
old AS (
    SELECT g.id, g.state, g.attempt, g.max_attempts, g.kind, g.continuation, g.task_id, g.limit_key, g.holds_slot,
           g.held_for, i.want_attempt, i.new_task_id, i.in_details, i.in_result, i.in_error, i.closed_outcome,
           i.caller_task_id, i.event_id
      FROM jsonb_to_recordset(%(items)s::jsonb)
           AS i(goal_id uuid, want_attempt integer, new_task_id text, in_details jsonb, in_result jsonb,
                in_error jsonb, closed_outcome text, caller_task_id text, event_id bigint)
      JOIN goals_goal g ON g.id = i.goal_id
     WHERE (SELECT count(*) FROM parents) >= 0  -- an InitPlan: the parents are locked before any goal
     ORDER BY g.id
       FOR UPDATE OF g
),
moved AS (
    UPDATE goals_goal AS g
       SET state = %(target)s::text,
           -- Kept until the goal ends (the reconciler counts a released goal's wait from it), then cleared
           -- by the final move, which is not a HOT update anyway: the index of due goals keys on it.
           -- reschedule and retry_later set a new start time (%(run_after)s::timestamptz), await_event the
           -- wait's deadline (NULL: none), which resume and time_out clear: the goal is pending from now on.
           run_after = CASE WHEN %(ends)s::boolean OR %(stops_waiting)s::boolean THEN NULL
                            WHEN %(awaits_event)s::boolean THEN %(run_after)s::timestamptz
                            ELSE COALESCE(%(run_after)s::timestamptz, g.run_after) END,
           wait_event = CASE WHEN %(awaits_event)s::boolean THEN %(wait_event)s::text
                             WHEN %(restarts)s::boolean OR %(stops_waiting)s::boolean THEN '' ELSE g.wait_event END,
           wait_key = CASE WHEN %(awaits_event)s::boolean THEN %(wait_key)s::text
                           WHEN %(ends)s::boolean OR %(stops_waiting)s::boolean THEN NULL ELSE g.wait_key END,
           attempt = CASE WHEN %(opens_attempt)s::boolean THEN g.attempt + 1 ELSE g.attempt END,
           task_id = CASE WHEN %(opens_attempt)s::boolean THEN old.new_task_id ELSE g.task_id END,
           max_attempts = COALESCE(g.attempt + %(budget)s::integer, g.max_attempts),
           -- A new attempt starts its phases again; Celery's retry published it already (queued now).
           queued_at = CASE WHEN %(opens_attempt)s::boolean AND %(celery_publishes)s::boolean THEN clock_timestamp()
                            WHEN %(opens_attempt)s::boolean THEN NULL ELSE g.queued_at END,
           started_at = CASE WHEN %(opens_attempt)s::boolean THEN NULL ELSE g.started_at END,
           heartbeat_at = CASE WHEN %(opens_attempt)s::boolean OR %(waits)s::boolean OR %(awaits_event)s::boolean THEN NULL
                               ELSE g.heartbeat_at END,
           -- Set by a final move, with final_state equal to the state (a check constraint); cleared by a
           -- retry; NULL already for any other move.
           finished_at = CASE WHEN %(ends)s::boolean THEN clock_timestamp() END,
           final_state = CASE WHEN %(ends)s::boolean THEN %(target)s::text END,
           result = CASE WHEN %(set_result)s::boolean THEN COALESCE(old.in_result, 'null'::jsonb)
                         WHEN %(restarts)s::boolean THEN NULL ELSE g.result END,
           error = CASE WHEN %(restarts)s::boolean THEN NULL ELSE COALESCE(old.in_error, g.error) END,
           -- While it waits, a goal's progress is its children's (kept by each one's final move).
           progress_current = CASE WHEN %(waits)s::boolean THEN g.children_final WHEN %(restarts)s::boolean THEN 0
                                   ELSE COALESCE(%(progress_current)s::bigint, g.progress_current) END,
           progress_total = CASE WHEN %(waits)s::boolean THEN g.children_total WHEN %(restarts)s::boolean THEN NULL
                                 WHEN %(progress_current)s::bigint IS NOT NULL THEN %(progress_total)s::bigint
                                 ELSE g.progress_total END,
           progress_message = CASE WHEN %(waits)s::boolean OR %(restarts)s::boolean THEN ''
                                   ELSE COALESCE(%(progress_message)s::text, g.progress_message) END,
           -- A move that ends the attempt gives back its slot, or its place among the held (freed below).
           holds_slot = CASE WHEN %(closes_as)s::text IS NOT NULL THEN false ELSE g.holds_slot END,
           held_for = CASE WHEN %(closes_as)s::text IS NOT NULL OR old.state = 'held' THEN '' ELSE g.held_for END,
           -- A rate's turn is for the attempt it was given to.
           rate_turn = CASE WHEN %(opens_attempt)s::boolean THEN NULL ELSE g.rate_turn END,
           -- The policy and continuation the executor handed back with; a retry starts without them.
           child_failures_allowed = CASE WHEN %(waits)s::boolean THEN %(failures_allowed)s::integer
                                         WHEN %(restarts)s::boolean THEN NULL ELSE g.child_failures_allowed END,
           continuation = CASE WHEN %(waits)s::boolean OR %(awaits_event)s::boolean THEN %(continuation)s::text
                               WHEN %(restarts)s::boolean THEN '' ELSE g.continuation END,
           fan_ins = CASE WHEN %(fans_in)s::boolean THEN g.fan_ins + 1 WHEN %(restarts)s::boolean THEN 0
                          ELSE g.fan_ins END,
           -- A goal that ends has all its children final: the cascade below ends the rest, each counted
           -- as not succeeded.
           children_failed = CASE WHEN %(ends)s::boolean THEN g.children_failed + (g.children_total - g.children_final)
                                  ELSE g.children_failed END,
           children_final = CASE WHEN %(ends)s::boolean THEN g.children_total ELSE g.children_final END
      FROM old
     WHERE g.id = old.id
       AND old.state = ANY(%(sources)s::text[])
       AND (old.want_attempt IS NULL OR old.attempt = old.want_attempt)
       AND (NOT %(bounded)s::boolean OR old.attempt < old.max_attempts)
       -- Of the held goals, a release takes only those held for a rate, at their turn.
       AND (old.state <> 'held' OR %(closes_as)s::text IS NOT NULL OR g.held_for = 'rate')
       AND (NOT %(fans_in)s::boolean OR goals_children_decided(g.children_total, g.children_final, g.children_failed,
                                                      g.child_failures_allowed))
       -- A goal waiting for an event is resumed by the event or its deadline, never fanned in; and the reverse.
       AND (NOT %(fans_in)s::boolean OR g.wait_event = '')
       AND (NOT %(stops_waiting)s::boolean OR g.wait_event <> '')
       -- aggregate: only a goal whose children decided it and that has no continuation to run.
       AND (NOT %(concludes)s::boolean
            OR (g.continuation = '' AND goals_children_decided(g.children_total, g.children_final, g.children_failed,
                                                               g.child_failures_allowed)))
       -- A child is retried only while its parent has not gone on from its outcome: running or waiting.
       AND (NOT %(restarts)s::boolean OR g.parent_id IS NULL
            OR EXISTS (SELECT FROM parents p WHERE p.id = g.parent_id AND p.state IN ('running', 'waiting')))
 RETURNING g.id, g.state, g.attempt, g.max_attempts, g.task_id, g.parent_id, g.children_total, g.result, g.error,
           goals_run_kind(g.kind, g.continuation) AS run_kind,
           -- What the worker needs of the goal's children when it hands back, and what a goal's own
           -- fan-in leaves it to do next (continue, or end with no worker: goals.submitting.conclusions).
           CASE WHEN %(waits)s::boolean OR %(fans_in)s::boolean THEN json_build_array(g.fan_ins, g.continuation, g.children_total,
                g.children_final, g.children_failed, g.child_failures_allowed, g.parent_id IS NOT NULL)::text
           END AS family
),
closed AS (
    -- The attempt the move leaves, closed with how it ended (one handed back to its children stays so).
    UPDATE goals_attempt AS a
       SET finished_at = COALESCE(a.finished_at, clock_timestamp()),
           outcome = COALESCE(old.closed_outcome, %(closes_as)s::text),
           error = COALESCE(old.in_error, a.error)
      FROM old JOIN moved ON moved.id = old.id
     WHERE %(closes_as)s::text IS NOT NULL
       AND a.goal_id = old.id AND a.number = old.attempt AND a.outcome <> 'waiting'
),
opened AS (
    INSERT INTO goals_attempt (goal_id, number, task_id, worker, created_at, queued_at, outcome)
    SELECT id, attempt, task_id, '', now(), CASE WHEN %(celery_publishes)s::boolean THEN clock_timestamp() END, ''
      FROM moved
     WHERE %(opens_attempt)s::boolean
),
consumed AS (
    -- resume: the outside event that resumed the goal is its, once (the caller holds the event's row).
    UPDATE goals_externalevent AS e
       SET consumed_by_id = moved.id, consumed_attempt = moved.attempt, consumed_at = clock_timestamp()
      FROM old JOIN moved ON moved.id = old.id
     WHERE e.id = old.event_id AND e.consumed_at IS NULL
),
recorded AS (
    -- The worker's own task result row (django-celery-results' columns, encoded by its backend), written
    -- by the move that ends the attempt it ran: one goal per call.
    INSERT INTO django_celery_results_taskresult
           (task_id, status, result, traceback, meta, content_type, content_encoding, periodic_task_name,
            task_name, task_args, task_kwargs, worker, date_created, date_done)
    SELECT %(row_task_id)s::text, %(row_status)s::text, %(row_result)s::text, %(row_traceback)s::text,
           %(row_meta)s::text, %(row_content_type)s::text, %(row_content_encoding)s::text,
           %(row_periodic_task_name)s::text, %(row_task_name)s::text, %(row_task_args)s::text,
           %(row_task_kwargs)s::text, %(row_worker)s::text, now(), now()
      FROM moved
     WHERE %(row_task_id)s::text IS NOT NULL
        ON CONFLICT (task_id) DO UPDATE
       SET status = EXCLUDED.status, result = EXCLUDED.result, traceback = EXCLUDED.traceback,
           meta = EXCLUDED.meta, content_type = EXCLUDED.content_type,
           content_encoding = EXCLUDED.content_encoding, periodic_task_name = EXCLUDED.periodic_task_name,
           task_name = EXCLUDED.task_name, task_args = EXCLUDED.task_args, task_kwargs = EXCLUDED.task_kwargs,
           worker = EXCLUDED.worker, date_done = EXCLUDED.date_done
),
tally AS (
    -- What the moved goals change in their parents' counts: a child's end adds itself, a failed child's
    -- retry takes itself back out. A parent moved by the same statement counts nothing.
    SELECT m.parent_id AS id,
           CASE WHEN %(restarts)s::boolean THEN -count(*) ELSE count(*) END AS finals,
           CASE WHEN %(restarts)s::boolean THEN -count(*) ELSE count(*) FILTER (WHERE m.state <> 'succeeded') END
               AS failures,
           min(m.id::text) AS child
      FROM moved m
     WHERE (%(ends)s::boolean OR %(restarts)s::boolean)
       AND m.parent_id IS NOT NULL AND m.parent_id NOT IN (SELECT id FROM moved)
     GROUP BY m.parent_id
),
fanning AS (
    -- A waiting parent whose children's outcome this makes known fans in (a retry never does: its parent
    -- cannot have fanned in on it).
    SELECT p.id, t.finals, t.failures, t.child,
           COALESCE(NOT %(restarts)s::boolean AND p.state = 'waiting'
                    AND goals_children_decided(p.children_total, p.children_final + t.finals,
                                               p.children_failed + t.failures, p.child_failures_allowed),
                    false) AS fires
      FROM parents p JOIN tally t ON t.id = p.id
),
counted AS (
    UPDATE goals_goal AS g
       SET children_final = g.children_final + f.finals,
           children_failed = g.children_failed + f.failures,
           progress_current = CASE WHEN g.state = 'waiting' THEN g.children_final + f.finals
                                   ELSE g.progress_current END,
           -- fan_in: waiting -> pending at a new attempt, which its caller sends (goals.submitting.moves).
           state = CASE WHEN f.fires THEN 'pending' ELSE g.state END,
           attempt = CASE WHEN f.fires THEN g.attempt + 1 ELSE g.attempt END,
           task_id = CASE WHEN f.fires THEN gen_random_uuid()::text ELSE g.task_id END,
           queued_at = CASE WHEN f.fires THEN NULL ELSE g.queued_at END,
           started_at = CASE WHEN f.fires THEN NULL ELSE g.started_at END,
           heartbeat_at = CASE WHEN f.fires THEN NULL ELSE g.heartbeat_at END,
           fan_ins = CASE WHEN f.fires THEN g.fan_ins + 1 ELSE g.fan_ins END
      FROM fanning f
     WHERE g.id = f.id AND g.finished_at IS NULL
 RETURNING g.id, g.kind, g.continuation, g.attempt, g.task_id, g.state, f.fires, f.child,
           json_build_array(g.fan_ins, g.continuation, g.children_total, g.children_final, g.children_failed,
                            g.child_failures_allowed, g.parent_id IS NOT NULL)::text AS family
),
fanned_attempts AS (
    INSERT INTO goals_attempt (goal_id, number, task_id, worker, created_at, outcome)
    SELECT id, attempt, task_id, '', now(), '' FROM counted WHERE fires
),
tree(id, depth) AS (
    -- The active descendants of the goals this move ended, by depth.
    SELECT c.id, 1
      FROM goals_goal c JOIN moved m ON c.parent_id = m.id
     WHERE %(ends)s::boolean AND m.children_total > 0 AND c.parent_id IS NOT NULL AND c.finished_at IS NULL
       AND c.id NOT IN (SELECT id FROM moved)
    UNION ALL
    SELECT c.id, t.depth + 1
      FROM goals_goal c JOIN tree t ON c.parent_id = t.id
     WHERE c.parent_id IS NOT NULL AND c.finished_at IS NULL
),
doomed AS (
    SELECT c.id, c.state, c.kind, c.limit_key, c.holds_slot, c.held_for FROM goals_goal c JOIN tree t ON t.id = c.id
     WHERE c.finished_at IS NULL
     ORDER BY t.depth, c.id
       FOR UPDATE OF c
),
cascaded AS (
    -- cancel, with cause "parent": a parent's end cancels its active descendants.
    UPDATE goals_goal AS g
       SET state = 'cancelled', finished_at = clock_timestamp(), final_state = 'cancelled', holds_slot = false,
           held_for = '',
           children_failed = g.children_failed + (g.children_total - g.children_final),
           children_final = g.children_total
      FROM doomed d
     WHERE g.id = d.id
 RETURNING g.id, g.parent_id, d.state AS from_state, g.state, g.attempt, g.task_id, g.result, g.error
),
freed AS (
    -- Every attempt this move ended gives back its slot of a limited kind, and every goal held for a slot
    -- that it ended its place among the held, exactly once: the goal's own row, fenced above, said it held one. Where a
    -- slot is free and goals are held, the caller admits them (admit_held_goals, in its transaction).
    UPDATE goals_concurrency AS c
       SET running = c.running - f.slots, held = c.held - f.held
      FROM (SELECT e.kind, e.limit_key, count(*) FILTER (WHERE e.holds_slot) AS slots,
                   count(*) FILTER (WHERE e.held_for = 'slot') AS held
              FROM (SELECT old.kind, old.limit_key, old.holds_slot, old.held_for
                      FROM old JOIN moved ON moved.id = old.id
                     WHERE %(closes_as)s::text IS NOT NULL
                    UNION ALL
                    SELECT d.kind, d.limit_key, d.holds_slot, d.held_for FROM doomed d
                      JOIN cascaded ON cascaded.id = d.id) e
             WHERE e.holds_slot OR e.held_for = 'slot'
             GROUP BY e.kind, e.limit_key) f
     WHERE c.kind = f.kind AND c.key = f.limit_key
 RETURNING c.kind, c.key, c.held > 0 AND c.running < c.capacity AS admits
),
cascade_closed AS (
    UPDATE goals_attempt AS a
       SET finished_at = COALESCE(a.finished_at, clock_timestamp()), outcome = 'cancelled'
      FROM cascaded c
     WHERE a.goal_id = c.id AND a.number = c.attempt AND a.finished_at IS NULL
),
finished_results AS (
    -- Every task id an ended goal had (one per attempt) takes the goal's final Celery state, unless its
    -- row is final already; the current attempt's own row, when the worker wrote it above, is left out.
    INSERT INTO django_celery_results_taskresult
           (task_id, status, result, traceback, meta, content_type, content_encoding, task_name,
            date_created, date_done)
    SELECT a.task_id, goals_celery_status(s.state), goals_celery_result(s.state, s.result, s.error),
           CASE WHEN s.state = 'failed' THEN NULLIF(s.error->>'traceback', '') END,
           '{"children": []}', 'application/json', 'utf-8', 'goals.execute', now(), now()
      FROM (SELECT id, state, task_id, result, error FROM moved WHERE %(ends)s::boolean
            UNION ALL
            SELECT id, state, task_id, result, error FROM cascaded) s
      JOIN goals_attempt a ON a.goal_id = s.id
     WHERE %(results_in_database)s::boolean AND a.task_id <> ''
       AND NOT (%(row_task_id)s::text IS NOT NULL AND a.task_id = s.task_id)
        ON CONFLICT (task_id) DO UPDATE
       SET status = EXCLUDED.status, result = EXCLUDED.result, traceback = EXCLUDED.traceback,
           content_type = EXCLUDED.content_type, content_encoding = EXCLUDED.content_encoding,
           date_done = EXCLUDED.date_done
     WHERE django_celery_results_taskresult.status NOT IN ('FAILURE', 'REVOKED', 'SUCCESS')
),
journal AS (
    INSERT INTO goals_goalevent
           (goal_id, created_at, event, transition, from_state, to_state, attempt, task_id, cause, actor, details)
    SELECT moved.id, now(), 'transition', %(name)s::text, old.state, moved.state, moved.attempt, moved.task_id,
           %(cause)s::text, %(actor)s::text, old.in_details
      FROM moved JOIN old ON old.id = moved.id
    UNION ALL
    SELECT old.id, now(), 'ignored', %(name)s::text, old.state, %(target)s::text, COALESCE(old.want_attempt, old.attempt),
           COALESCE(old.caller_task_id, ''), %(cause)s::text, %(actor)s::text,
           old.in_details || jsonb_build_object('goal_attempt', old.attempt)
      FROM old
     WHERE %(journal_refusal)s::boolean AND NOT EXISTS (SELECT FROM moved WHERE moved.id = old.id)
    UNION ALL
    SELECT c.id, now(), 'transition', 'fan_in', 'waiting', c.state, c.attempt, c.task_id, %(cause)s::text, %(actor)s::text,
           jsonb_build_object('child', c.child)
      FROM counted c
     WHERE c.fires
    UNION ALL
    SELECT c.id, now(), 'transition', 'cancel', c.from_state, c.state, c.attempt, c.task_id, 'parent', %(actor)s::text,
           jsonb_build_object('parent', c.parent_id)
      FROM cascaded c
)
SELECT old.id, old.kind, old.state, COALESCE(moved.state, old.state), COALESCE(moved.attempt, old.attempt),
       COALESCE(moved.max_attempts, old.max_attempts), COALESCE(moved.task_id, old.task_id),
       COALESCE(moved.run_kind, goals_run_kind(old.kind, old.continuation)), moved.id IS NOT NULL, moved.family,
       fan.id, fan.attempt, fan.task_id, goals_run_kind(fan.kind, fan.continuation), fan.family,
       (SELECT json_agg(json_build_array(f.kind, f.key))::text FROM freed f WHERE f.admits)
  FROM old
  LEFT JOIN moved ON moved.id = old.id
  LEFT JOIN counted fan ON fan.id = moved.parent_id AND fan.fires
 ORDER BY old.id

-- name: claim_due_goals
-- release, first half: the scheduled goals whose start time has come (and the goals held for a rate whose
-- turn has), oldest due first, locked until the
-- transaction ends and skipped when another releaser holds them, so two releasers share the work (due by
-- the statement's clock, not its transaction's: a timer's release may run in a caller's transaction). The
-- second half is move_goals with the release transition, fenced on the state as every move.
SELECT g.id
  FROM goals_goal g
 WHERE g.run_after <= statement_timestamp() AND (g.state = 'scheduled' OR (g.state = 'held' AND g.held_for = 'rate'))
 ORDER BY g.run_after, g.id
 LIMIT %(limit)s::integer
   FOR UPDATE SKIP LOCKED

-- name: claim_expired_waits
-- time_out, first half: the goals waiting for an outside event whose wait's deadline (run_after) has
-- passed, locked as claim_due_goals locks; the second half is move_goals with the time_out transition.
SELECT g.id
  FROM goals_goal g
 WHERE g.run_after <= statement_timestamp() AND g.state = 'waiting' AND g.wait_event <> ''
 ORDER BY g.run_after, g.id
 LIMIT %(limit)s::integer
   FOR UPDATE SKIP LOCKED

-- name: coming_starts
-- release, looking ahead: the times at which scheduled goals come due, or waits for an event reach their
-- deadline, within the next %(within)s::float8
-- seconds, rounded up to a multiple of %(tick)s::float8 seconds, for the timers that release
-- them on time (goals.submitting.timers); the index of start times finds them, however many wait later.
SELECT DISTINCT to_timestamp(ceil(extract(epoch FROM g.run_after) / %(tick)s::float8)
                             * %(tick)s::float8) AS due
  FROM goals_goal g
 WHERE g.run_after > statement_timestamp()
   AND g.run_after <= statement_timestamp() + make_interval(secs => %(within)s::float8)
   AND (g.state = 'scheduled' OR (g.state = 'waiting' AND g.wait_event <> '')
        OR (g.state = 'held' AND g.held_for = 'rate'))
 ORDER BY due

-- name: start_attempt
-- start: the worker takes the goal's attempt (pending, queued or retrying -> running), stamps it and its
-- attempt row, and reads what the executor needs; with %(journal_refusal)s a refused start (stale,
-- duplicate, cancelled) is journaled as "ignored". One goal: the worker's hot path, scalar parameters.
--
-- hold (goals.executors.limits): the goal is held at the same attempt instead, holding no worker, when
-- - an operator paused its kind (goals_kindcontrol): held for the pause until the kind is resumed;
-- - its kind has a rate (the operator's, else the kind's declared one, %(rates)s::jsonb by kind: [starts,
--   period in seconds]) and its key's window (goals_rate, its row locked) has no room or its next start is
--   not due: held until the turn it is given (run_after, rate_turn), then released, and started then;
-- - its kind has a concurrency limit (the operator's, else the declared one, %(limits)s::jsonb by kind) and
--   no slot of its key (goals_concurrency, its row locked even when the limit refuses) is free: counted as
--   held, admitted when a slot frees. A goal admitted from held brings its slot with it. The key's row is
--   made with the goal (insert_goals), so the count it holds is never one this statement cannot see.
WITH old AS (
    SELECT g.id, g.state, g.attempt, g.max_attempts, g.kind, g.continuation, g.task_id, g.limit_key, g.holds_slot,
           g.rate_key, g.rate_turn
      FROM goals_goal g
     WHERE g.id = %(goal_id)s::uuid
       FOR UPDATE
),
startable AS (
    SELECT old.id, old.kind, old.limit_key, old.rate_key, old.rate_turn, COALESCE(k.paused, false) AS paused,
           CASE WHEN NOT old.holds_slot AND NOT COALESCE(k.paused, false)
                THEN COALESCE(k.concurrency, (%(limits)s::jsonb ->> old.kind)::integer) END AS capacity,
           CASE WHEN NOT COALESCE(k.paused, false)
                THEN COALESCE(k.rate, (%(rates)s::jsonb -> old.kind ->> 0)::integer) END AS rate_limit,
           COALESCE(k.rate_period, (%(rates)s::jsonb -> old.kind ->> 1)::float8) AS rate_period,
           clock_timestamp() AS now
      FROM old LEFT JOIN goals_kindcontrol k ON k.kind = old.kind
     WHERE old.state IN ('pending', 'queued', 'retrying') AND old.attempt = %(attempt)s::integer
),
window_seen AS (
    -- The key's window locked, and read as its last writer left it (a row locking read sees the newest).
    SELECT r.id, r.starts, r.next_at
      FROM goals_rate r JOIN startable s ON r.kind = s.kind AND r.key = s.rate_key
     WHERE s.rate_limit IS NOT NULL
       FOR UPDATE OF r
),
pace AS (
    -- At most rate_limit starts in any rate_period, one every rate_period / rate_limit at the most: the goal
    -- starts now if the window has room and the next start is due (or this is the turn it was given), else it
    -- is given the next turn, after the turns given before it. "Now" is never before the key's last start:
    -- its starts are stamped in the order they were counted, and the stamp is the goal's started_at.
    SELECT w.id AS window_id, w.next_at, recent.starts, s.rate_limit, c.now,
           make_interval(secs => s.rate_period / s.rate_limit) AS spacing,
           cardinality(recent.starts) < s.rate_limit
           AND (s.rate_turn IS NOT NULL OR w.next_at IS NULL OR w.next_at <= c.now) AS allowed,
           GREATEST(CASE WHEN s.rate_turn IS NULL THEN w.next_at END, c.now,
                    CASE WHEN cardinality(recent.starts) >= s.rate_limit
                         THEN recent.starts[cardinality(recent.starts) - s.rate_limit + 1]
                              + make_interval(secs => s.rate_period) END) AS turn
      FROM startable s
      LEFT JOIN window_seen w ON true
     CROSS JOIN LATERAL (
          SELECT GREATEST(s.now, (SELECT max(t) FROM unnest(w.starts) AS t)) AS now
     ) c
     CROSS JOIN LATERAL (
          SELECT ARRAY(SELECT t FROM unnest(w.starts) AS t
                        WHERE t > c.now - make_interval(secs => s.rate_period) ORDER BY t) AS starts
     ) recent
     WHERE s.rate_limit IS NOT NULL
),
slot AS (
    -- The key's row is locked even when the limit refuses the slot, so counting and holding are one step.
    INSERT INTO goals_concurrency AS c (kind, key, running, held, capacity)
    SELECT s.kind, s.limit_key, 1, 0, s.capacity FROM startable s
     WHERE s.capacity IS NOT NULL AND NOT EXISTS (SELECT FROM pace WHERE NOT pace.allowed)
        ON CONFLICT (kind, key) DO UPDATE
       SET running = c.running + 1, capacity = EXCLUDED.capacity
     WHERE c.running < EXCLUDED.capacity
 RETURNING c.kind
),
counted_held AS (
    UPDATE goals_concurrency AS c
       SET held = c.held + 1, capacity = s.capacity
      FROM startable s
     WHERE c.kind = s.kind AND c.key = s.limit_key AND s.capacity IS NOT NULL AND NOT EXISTS (SELECT FROM slot)
       AND NOT EXISTS (SELECT FROM pace WHERE NOT pace.allowed)
 RETURNING c.kind
),
verdict AS (
    -- Why the goal is held instead of started ('': it starts), and until when, for the rate.
    SELECT CASE WHEN s.paused THEN 'pause'
                WHEN EXISTS (SELECT FROM pace WHERE NOT pace.allowed) THEN 'rate'
                WHEN s.capacity IS NOT NULL AND NOT EXISTS (SELECT FROM slot) THEN 'slot' ELSE '' END AS reason,
           (SELECT pace.turn FROM pace WHERE NOT pace.allowed) AS turn, (SELECT pace.now FROM pace) AS now
      FROM startable s
),
paced AS (
    -- The start counted in the key's window (kept to its last rate_limit starts), or the turn given out.
    UPDATE goals_rate AS r
       SET starts = CASE WHEN v.reason = ''
                         THEN (p.starts || p.now)[GREATEST(cardinality(p.starts) + 2 - p.rate_limit, 1):]
                         ELSE p.starts END,
           next_at = CASE WHEN v.reason = '' AND s.rate_turn IS NULL THEN p.now + p.spacing
                          WHEN v.reason = 'rate' THEN GREATEST(r.next_at, v.turn + p.spacing)
                          ELSE r.next_at END
      FROM startable s, pace p, verdict v
     WHERE r.id = p.window_id AND v.reason IN ('', 'rate')
),
first_window AS (
    -- A key with no window yet (its kind was given a rate after its goals were submitted): its first start.
    INSERT INTO goals_rate (kind, key, starts, next_at)
    SELECT s.kind, s.rate_key, ARRAY[p.now], p.now + p.spacing
      FROM startable s, pace p, verdict v
     WHERE p.window_id IS NULL AND v.reason = ''
        ON CONFLICT (kind, key) DO NOTHING
),
moved AS (
    UPDATE goals_goal AS g
       SET state = CASE WHEN v.reason <> '' THEN 'held' ELSE 'running' END,
           -- A rate-limited start is stamped as its key's window counted it.
           started_at = CASE WHEN v.reason <> '' THEN g.started_at ELSE COALESCE(v.now, clock_timestamp()) END,
           heartbeat_at = CASE WHEN v.reason <> '' THEN g.heartbeat_at ELSE clock_timestamp() END,
           holds_slot = EXISTS (SELECT FROM slot) OR old.holds_slot,
           held_for = v.reason,
           -- Held for the rate: released at its turn (run_after), which its start then uses up.
           run_after = CASE WHEN v.reason = 'rate' THEN v.turn ELSE g.run_after END,
           rate_turn = CASE WHEN v.reason = 'rate' THEN v.turn WHEN v.reason = '' THEN NULL ELSE g.rate_turn END
      FROM old, verdict v
     WHERE g.id = old.id
 RETURNING g.id, g.state, g.attempt, g.held_for, g.run_after, g.started_at, g.params::text AS params,
           json_build_array(g.fan_ins, g.continuation, g.children_total, g.children_final, g.children_failed,
                            g.child_failures_allowed, g.parent_id IS NOT NULL)::text AS family,
           g.trace_context::text AS trace_context
),
started AS (
    UPDATE goals_attempt AS a
       SET started_at = moved.started_at, worker = %(actor)s::text
      FROM moved
     WHERE a.goal_id = moved.id AND a.number = moved.attempt AND moved.state = 'running'
),
journal AS (
    INSERT INTO goals_goalevent
           (goal_id, created_at, event, transition, from_state, to_state, attempt, task_id, cause, actor, details)
    SELECT old.id, now(), CASE WHEN moved.id IS NULL THEN 'ignored' ELSE 'transition' END,
           CASE WHEN moved.state = 'held' THEN 'hold' ELSE 'start' END, old.state, COALESCE(moved.state, 'running'),
           %(attempt)s::integer, %(task_id)s::text, %(cause)s::text, %(actor)s::text,
           CASE WHEN moved.id IS NULL THEN jsonb_build_object('goal_attempt', old.attempt)
                WHEN moved.held_for = 'rate' THEN jsonb_build_object('for', 'rate', 'key', old.rate_key,
                                                                     'until', moved.run_after)
                WHEN moved.state = 'held' THEN jsonb_build_object('for', moved.held_for, 'key', old.limit_key)
                ELSE '{}' END
      FROM old LEFT JOIN moved ON moved.id = old.id
     WHERE moved.id IS NOT NULL OR %(journal_refusal)s::boolean
)
SELECT old.id, old.kind, old.state, COALESCE(moved.state, old.state), old.attempt, old.max_attempts, old.task_id,
       goals_run_kind(old.kind, old.continuation), COALESCE(moved.state = 'running', false), moved.family,
       moved.params, CASE WHEN moved.held_for = 'rate' THEN moved.run_after END,
       -- The submit's trace context, under which the worker traces the attempt it starts (goals.tracing).
       CASE WHEN moved.state = 'running' THEN moved.trace_context END
  FROM old LEFT JOIN moved ON moved.id = old.id

-- name: mark_queued
-- enqueue: the publisher records a set of goals' attempts sent to the broker (pending -> queued), each
-- fenced on its attempt. A hint for the reconciler, committed without waiting for the WAL flush: lost in
-- a crash, the goal shows pending and is sent again, and the duplicate message is fenced off.
WITH relaxed AS (
    SELECT set_config('synchronous_commit', 'off', true)
),
old AS (
    SELECT g.id, g.state, g.attempt, g.max_attempts, g.kind, g.continuation, g.task_id, i.attempt AS want_attempt
      FROM unnest(%(goal_ids)s::uuid[], %(attempts)s::integer[]) AS i(goal_id, attempt)
      JOIN goals_goal g ON g.id = i.goal_id
     WHERE (SELECT count(*) FROM relaxed) >= 0
     ORDER BY g.id
       FOR UPDATE OF g
),
moved AS (
    UPDATE goals_goal AS g
       SET state = 'queued', queued_at = clock_timestamp()
      FROM old
     WHERE g.id = old.id AND old.state = 'pending' AND old.attempt = old.want_attempt
 RETURNING g.id, g.state, g.attempt, g.task_id
),
enqueued AS (
    UPDATE goals_attempt AS a
       SET queued_at = clock_timestamp()
      FROM moved
     WHERE a.goal_id = moved.id AND a.number = moved.attempt
),
journal AS (
    INSERT INTO goals_goalevent
           (goal_id, created_at, event, transition, from_state, to_state, attempt, task_id, cause, actor, details)
    SELECT id, now(), 'transition', 'enqueue', 'pending', 'queued', attempt, task_id, %(cause)s::text,
           %(actor)s::text, '{}'
      FROM moved
)
SELECT old.id, old.kind, old.state, COALESCE(moved.state, old.state), old.attempt, old.max_attempts, old.task_id,
       goals_run_kind(old.kind, old.continuation), moved.id IS NOT NULL, NULL::text, NULL::text, NULL::timestamptz,
       NULL::text
  FROM old LEFT JOIN moved ON moved.id = old.id
 ORDER BY old.id

-- name: end_lone_attempt
-- succeed, fail, schedule_retry or retry_later of a goal with no parent and no children: the worker's end of the
-- attempt it ran, with the task's own result row. move_goals without the family parts, for one goal with
-- scalar parameters: the last statement of nearly every goal's life, where move_goals' empty family
-- parts cost a third of the no-op throughput (bench/README.md). The worker knows the goal is alone from
-- what its start read and from what its attempt spawned.
WITH old AS (
    SELECT g.id, g.state, g.attempt, g.max_attempts, g.kind, g.continuation, g.task_id, g.limit_key, g.holds_slot
      FROM goals_goal g
     WHERE g.id = %(goal_id)s::uuid
       FOR UPDATE
),
moved AS (
    UPDATE goals_goal AS g
       SET state = %(target)s::text,
           -- Kept until the goal ends (the reconciler counts a released goal's wait from it), then cleared
           -- by the final move, which is not a HOT update anyway: the index of due goals keys on it.
           -- retry_later: the next attempt waits as scheduled until %(run_after)s::timestamptz.
           run_after = CASE WHEN %(ends)s::boolean THEN NULL ELSE COALESCE(%(run_after)s::timestamptz, g.run_after) END,
           attempt = CASE WHEN %(opens_attempt)s::boolean THEN g.attempt + 1 ELSE g.attempt END,
           task_id = CASE WHEN %(opens_attempt)s::boolean THEN %(new_task_id)s::text ELSE g.task_id END,
           -- schedule_retry: Celery's retry published the next attempt already (queued now).
           queued_at = CASE WHEN %(opens_attempt)s::boolean AND %(celery_publishes)s::boolean THEN clock_timestamp()
                            WHEN %(opens_attempt)s::boolean THEN NULL ELSE g.queued_at END,
           started_at = CASE WHEN %(opens_attempt)s::boolean THEN NULL ELSE g.started_at END,
           heartbeat_at = CASE WHEN %(opens_attempt)s::boolean THEN NULL ELSE g.heartbeat_at END,
           finished_at = CASE WHEN %(ends)s::boolean THEN clock_timestamp() END,
           final_state = CASE WHEN %(ends)s::boolean THEN %(target)s::text END,
           result = CASE WHEN %(set_result)s::boolean THEN COALESCE(%(result)s::jsonb, 'null'::jsonb)
                         ELSE g.result END,
           error = COALESCE(%(error)s::jsonb, g.error),
           progress_current = COALESCE(%(progress_current)s::bigint, g.progress_current),
           progress_total = CASE WHEN %(progress_current)s::bigint IS NOT NULL THEN %(progress_total)s::bigint
                                 ELSE g.progress_total END,
           progress_message = COALESCE(%(progress_message)s::text, g.progress_message),
           -- Every move here ends the attempt: it gives back its slot (freed below).
           holds_slot = false,
           rate_turn = NULL
      FROM old
     WHERE g.id = old.id
       AND old.state = ANY(%(sources)s::text[])
       AND old.attempt = %(attempt)s::integer
       AND (NOT %(bounded)s::boolean OR old.attempt < old.max_attempts)
 RETURNING g.id, g.state, g.attempt, g.max_attempts, g.task_id, g.result, g.error,
           goals_run_kind(g.kind, g.continuation) AS run_kind
),
freed AS (
    -- The attempt's slot of a limited kind, given back exactly once (as in move_goals).
    UPDATE goals_concurrency AS c
       SET running = c.running - 1
      FROM old JOIN moved ON moved.id = old.id
     WHERE old.holds_slot AND c.kind = old.kind AND c.key = old.limit_key
 RETURNING c.kind, c.key, c.held > 0 AND c.running < c.capacity AS admits
),
closed AS (
    UPDATE goals_attempt AS a
       SET finished_at = COALESCE(a.finished_at, clock_timestamp()), outcome = %(closes_as)s::text,
           error = COALESCE(%(error)s::jsonb, a.error)
      FROM old JOIN moved ON moved.id = old.id
     WHERE a.goal_id = old.id AND a.number = old.attempt
),
opened AS (
    INSERT INTO goals_attempt (goal_id, number, task_id, worker, created_at, queued_at, outcome)
    SELECT id, attempt, task_id, '', now(), CASE WHEN %(celery_publishes)s::boolean THEN clock_timestamp() END, ''
      FROM moved
     WHERE %(opens_attempt)s::boolean
),
recorded AS (
    INSERT INTO django_celery_results_taskresult
           (task_id, status, result, traceback, meta, content_type, content_encoding, periodic_task_name,
            task_name, task_args, task_kwargs, worker, date_created, date_done)
    SELECT %(row_task_id)s::text, %(row_status)s::text, %(row_result)s::text, %(row_traceback)s::text,
           %(row_meta)s::text, %(row_content_type)s::text, %(row_content_encoding)s::text,
           %(row_periodic_task_name)s::text, %(row_task_name)s::text, %(row_task_args)s::text,
           %(row_task_kwargs)s::text, %(row_worker)s::text, now(), now()
      FROM moved
     WHERE %(row_task_id)s::text IS NOT NULL
        ON CONFLICT (task_id) DO UPDATE
       SET status = EXCLUDED.status, result = EXCLUDED.result, traceback = EXCLUDED.traceback,
           meta = EXCLUDED.meta, content_type = EXCLUDED.content_type,
           content_encoding = EXCLUDED.content_encoding, periodic_task_name = EXCLUDED.periodic_task_name,
           task_name = EXCLUDED.task_name, task_args = EXCLUDED.task_args, task_kwargs = EXCLUDED.task_kwargs,
           worker = EXCLUDED.worker, date_done = EXCLUDED.date_done
),
finished_results AS (
    -- The goal's earlier attempts' task ids take its final Celery state (as in move_goals).
    INSERT INTO django_celery_results_taskresult
           (task_id, status, result, traceback, meta, content_type, content_encoding, task_name,
            date_created, date_done)
    SELECT a.task_id, goals_celery_status(m.state), goals_celery_result(m.state, m.result, m.error),
           CASE WHEN m.state = 'failed' THEN NULLIF(m.error->>'traceback', '') END,
           '{"children": []}', 'application/json', 'utf-8', 'goals.execute', now(), now()
      FROM moved m
      JOIN goals_attempt a ON a.goal_id = m.id
     WHERE %(ends)s::boolean AND %(results_in_database)s::boolean AND a.task_id <> ''
       AND NOT (%(row_task_id)s::text IS NOT NULL AND a.task_id = m.task_id)
        ON CONFLICT (task_id) DO UPDATE
       SET status = EXCLUDED.status, result = EXCLUDED.result, traceback = EXCLUDED.traceback,
           content_type = EXCLUDED.content_type, content_encoding = EXCLUDED.content_encoding,
           date_done = EXCLUDED.date_done
     WHERE django_celery_results_taskresult.status NOT IN ('FAILURE', 'REVOKED', 'SUCCESS')
),
journal AS (
    INSERT INTO goals_goalevent
           (goal_id, created_at, event, transition, from_state, to_state, attempt, task_id, cause, actor, details)
    SELECT old.id, now(), CASE WHEN moved.id IS NULL THEN 'ignored' ELSE 'transition' END, %(name)s::text,
           old.state, %(target)s::text, COALESCE(moved.attempt, %(attempt)s::integer), COALESCE(moved.task_id, %(caller_task_id)s::text),
           'executor',
           %(actor)s::text,
           CASE WHEN moved.id IS NULL THEN %(details)s::jsonb || jsonb_build_object('goal_attempt', old.attempt)
                ELSE %(details)s::jsonb END
      FROM old LEFT JOIN moved ON moved.id = old.id
)
SELECT old.id, old.kind, old.state, COALESCE(moved.state, old.state), COALESCE(moved.attempt, old.attempt),
       COALESCE(moved.max_attempts, old.max_attempts), COALESCE(moved.task_id, old.task_id),
       COALESCE(moved.run_kind, goals_run_kind(old.kind, old.continuation)), moved.id IS NOT NULL, NULL::text,
       NULL::uuid, NULL::integer, NULL::text, NULL::text, NULL::text,
       (SELECT json_agg(json_build_array(f.kind, f.key))::text FROM freed f WHERE f.admits)
  FROM old LEFT JOIN moved ON moved.id = old.id
