-- name: admit_held_goals
-- admit: the slots free under their key's limit go to the key's held goals, oldest first (held -> pending
-- at the same attempt, each keeping its slot until the move that ends its attempt gives it back), which the
-- caller sends once the transaction commits. %(keys)s::jsonb is a JSON array of [kind, key].
--
-- Run after the move that freed the slots, in its transaction: that move holds the keys' rows, so this
-- statement's snapshot, taken later, sees every goal held under them, and no start can take a freed slot
-- between the two. Also run by the reconciler, and when an operator raises a limit.
WITH counter AS (
    SELECT c.kind, c.key, GREATEST(c.capacity - c.running, 0) AS free
      FROM goals_concurrency c
     WHERE (c.kind, c.key) IN (SELECT k->>0, k->>1 FROM jsonb_array_elements(%(keys)s::jsonb) AS k)
     ORDER BY c.kind, c.key
       FOR UPDATE OF c
),
chosen AS (
    SELECT h.id
      FROM counter c
     CROSS JOIN LATERAL (
          -- held_for <> '' is the predicate of the index of held goals, said so the planner takes it.
          SELECT g.id FROM goals_goal g
           WHERE g.kind = c.kind AND g.limit_key = c.key AND g.held_for <> '' AND g.held_for = 'slot'
             AND g.state = 'held'
           ORDER BY g.id
           LIMIT c.free
             FOR UPDATE SKIP LOCKED
     ) h
),
moved AS (
    UPDATE goals_goal AS g
       SET state = 'pending', holds_slot = true, held_for = '', queued_at = NULL
      FROM chosen
     WHERE g.id = chosen.id AND g.state = 'held'
 RETURNING g.id, g.kind, g.limit_key, g.attempt, g.task_id, goals_run_kind(g.kind, g.continuation) AS run_kind
),
counted AS (
    UPDATE goals_concurrency AS c
       SET running = c.running + n.admitted, held = c.held - n.admitted
      FROM (SELECT kind, limit_key, count(*) AS admitted FROM moved GROUP BY kind, limit_key) n
     WHERE c.kind = n.kind AND c.key = n.limit_key
),
journal AS (
    INSERT INTO goals_goalevent
           (goal_id, created_at, event, transition, from_state, to_state, attempt, task_id, cause, actor, details)
    SELECT id, now(), 'transition', 'admit', 'held', 'pending', attempt, task_id, %(cause)s::text, %(actor)s::text,
           jsonb_build_object('key', limit_key)
      FROM moved
)
SELECT id, attempt, task_id, run_kind FROM moved ORDER BY id

-- name: set_kind_concurrency
-- An operator's concurrency limit for a kind, in force from the next start with no restart: recorded in
-- goals_kindcontrol (%(concurrency)s::integer; NULL: the executor's own, %(declared)s::integer, if any), and
-- every key's row of the kind counts against it at once (no limit left: every held goal may go). Goals
-- running over a lowered limit finish; no other starts until the key is under it. Returns the keys whose
-- held goals a raised limit lets in, as a JSON array of [kind, key] for admit_held_goals (NULL: none).
WITH control AS (
    INSERT INTO goals_kindcontrol (kind, concurrency, changed_at, changed_by)
    VALUES (%(kind)s::text, %(concurrency)s::integer, now(), %(actor)s::text)
        ON CONFLICT (kind) DO UPDATE
       SET concurrency = EXCLUDED.concurrency, changed_at = EXCLUDED.changed_at, changed_by = EXCLUDED.changed_by
),
journal AS (
    INSERT INTO goals_kindevent (kind, created_at, event, actor, reason, details)
    VALUES (%(kind)s::text, now(), 'concurrency', %(actor)s::text, %(reason)s::text,
            jsonb_build_object('concurrency', %(concurrency)s::integer, 'declared', %(declared)s::integer))
),
counted AS (
    UPDATE goals_concurrency AS c
       SET capacity = COALESCE(%(concurrency)s::integer, %(declared)s::integer, 2147483647)
     WHERE c.kind = %(kind)s::text
 RETURNING c.kind, c.key, c.held > 0 AND c.running < c.capacity AS admits
),
slots AS (
    -- The keys of the kind's active goals that have no row yet (a kind no limit counted before), made now
    -- so that each start finds its key's row.
    INSERT INTO goals_concurrency (kind, key, running, held, capacity)
    SELECT DISTINCT g.kind, g.limit_key, 0, 0, %(concurrency)s::integer
      FROM goals_goal g
     WHERE g.kind = %(kind)s::text AND g.finished_at IS NULL AND %(concurrency)s::integer IS NOT NULL
        ON CONFLICT (kind, key) DO NOTHING
)
SELECT json_agg(json_build_array(kind, key))::text FROM counted WHERE admits

-- name: lock_slots
-- The reconciler's recount, first half: every limited key's row, locked in order until the transaction
-- ends. A start or an end changes a key's count and its goal in one statement under this lock, so once it
-- is held the goals and the counts stand still for the second half, recount_slots.
SELECT c.id FROM goals_concurrency c ORDER BY c.kind, c.key FOR UPDATE

-- name: recount_slots
-- The reconciler's recount, second half, in a statement of its own (its snapshot is taken once lock_slots
-- holds every row): each key's slots taken (active goals holding one) and goals held for one, counted from
-- the goals; with %(repair)s::boolean the rows that disagree are set to the count. Returns the rows that
-- disagreed, and those whose held goals a free slot can take, with the count before and after.
WITH actual AS (
    SELECT g.kind, g.limit_key AS key, count(*) FILTER (WHERE g.holds_slot) AS running,
           count(*) FILTER (WHERE g.state = 'held' AND g.held_for = 'slot') AS held
      FROM goals_goal g
     WHERE g.finished_at IS NULL AND (g.holds_slot OR g.held_for = 'slot')
     GROUP BY g.kind, g.limit_key
),
counted AS (
    SELECT c.id, c.kind, c.key, c.capacity, c.running AS was_running, c.held AS was_held,
           COALESCE(a.running, 0) AS running, COALESCE(a.held, 0) AS held
      FROM goals_concurrency c LEFT JOIN actual a ON a.kind = c.kind AND a.key = c.key
),
fixed AS (
    UPDATE goals_concurrency AS c
       SET running = n.running, held = n.held
      FROM counted n
     WHERE c.id = n.id AND %(repair)s::boolean AND (n.was_running, n.was_held) <> (n.running, n.held)
)
SELECT kind, key, capacity, was_running, was_held, running, held
  FROM counted
 WHERE (was_running, was_held) <> (running, held) OR (held > 0 AND running < capacity)
 ORDER BY kind, key

-- name: pause_kind
-- An operator pauses a kind: from the next start on, each of its goals a worker takes is held for the pause
-- (start_attempt: held, same attempt, no worker) and none starts; goals already running finish. Journaled
-- with who and why. Returns whether the kind was running (a kind paused already is left as it was).
WITH control AS (
    INSERT INTO goals_kindcontrol AS k (kind, paused, paused_at, paused_by, pause_reason, changed_at, changed_by)
    VALUES (%(kind)s::text, true, now(), %(actor)s::text, %(reason)s::text, now(), %(actor)s::text)
        ON CONFLICT (kind) DO UPDATE
       SET paused = true, paused_at = EXCLUDED.paused_at, paused_by = EXCLUDED.paused_by,
           pause_reason = EXCLUDED.pause_reason, changed_at = EXCLUDED.changed_at, changed_by = EXCLUDED.changed_by
     WHERE NOT k.paused
 RETURNING k.kind
),
journal AS (
    INSERT INTO goals_kindevent (kind, created_at, event, actor, reason, details)
    SELECT kind, now(), 'paused', %(actor)s::text, %(reason)s::text, '{}' FROM control
)
SELECT EXISTS (SELECT FROM control)

-- name: resume_kind
-- An operator resumes a paused kind: its goals start again from the next start on, and the goals held for
-- the pause are taken up by admit_paused_goals, oldest first. Journaled with who and why, and how long the
-- pause lasted. Returns whether the kind was paused.
WITH control AS (
    UPDATE goals_kindcontrol AS k
       SET paused = false, changed_at = now(), changed_by = %(actor)s::text
     WHERE k.kind = %(kind)s::text AND k.paused
 RETURNING k.kind, k.paused_at
),
journal AS (
    INSERT INTO goals_kindevent (kind, created_at, event, actor, reason, details)
    SELECT kind, now(), 'resumed', %(actor)s::text, %(reason)s::text,
           jsonb_build_object('paused_seconds', round(extract(epoch FROM now() - paused_at)::numeric, 3))
      FROM control
)
SELECT EXISTS (SELECT FROM control)

-- name: admit_paused_goals
-- admit, after a resume: up to %(limit)s::integer goals of %(kind)s::text held for its pause, oldest first,
-- held -> pending at the same attempt (one that held a slot keeps it), for the caller to send once the
-- transaction commits; their start counts their limit again. Locked SKIP LOCKED, as a release claims.
WITH chosen AS (
    SELECT g.id
      FROM goals_goal g
     -- held_for <> '': the index of held goals' predicate, as in admit_held_goals.
     WHERE g.kind = %(kind)s::text AND g.held_for <> '' AND g.held_for = 'pause' AND g.state = 'held'
     ORDER BY g.id
     LIMIT %(limit)s::integer
       FOR UPDATE SKIP LOCKED
),
moved AS (
    UPDATE goals_goal AS g
       SET state = 'pending', held_for = '', queued_at = NULL
      FROM chosen
     WHERE g.id = chosen.id AND g.state = 'held'
 RETURNING g.id, g.attempt, g.task_id, goals_run_kind(g.kind, g.continuation) AS run_kind
),
journal AS (
    INSERT INTO goals_goalevent
           (goal_id, created_at, event, transition, from_state, to_state, attempt, task_id, cause, actor, details)
    SELECT id, now(), 'transition', 'admit', 'held', 'pending', attempt, task_id, %(cause)s::text, %(actor)s::text,
           '{"resumed": true}'
      FROM moved
)
SELECT id, attempt, task_id, run_kind FROM moved ORDER BY id

-- name: set_kind_rate
-- An operator's rate for a kind: at most %(rate)s::integer starts per %(period)s::float8 seconds (NULL: the
-- executor's own, if any), in force from the next start with no restart; recorded in goals_kindcontrol and
-- journaled. Each key of the kind's active goals is given its window now, so its first starts count as every
-- later one. Turns given out already stand.
WITH control AS (
    INSERT INTO goals_kindcontrol (kind, rate, rate_period, changed_at, changed_by)
    VALUES (%(kind)s::text, %(rate)s::integer, %(period)s::float8, now(), %(actor)s::text)
        ON CONFLICT (kind) DO UPDATE
       SET rate = EXCLUDED.rate, rate_period = EXCLUDED.rate_period, changed_at = EXCLUDED.changed_at,
           changed_by = EXCLUDED.changed_by
),
windows AS (
    INSERT INTO goals_rate (kind, key, starts)
    SELECT DISTINCT g.kind, g.rate_key, '{}'::timestamptz[]
      FROM goals_goal g
     WHERE g.kind = %(kind)s::text AND g.finished_at IS NULL AND %(rate)s::integer IS NOT NULL
        ON CONFLICT (kind, key) DO NOTHING
),
journal AS (
    INSERT INTO goals_kindevent (kind, created_at, event, actor, reason, details)
    VALUES (%(kind)s::text, now(), 'rate', %(actor)s::text, %(reason)s::text,
            jsonb_build_object('rate', %(rate)s::integer, 'per_seconds', %(period)s::float8))
)
SELECT true
