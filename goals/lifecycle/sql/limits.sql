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
counted AS (
    UPDATE goals_concurrency AS c
       SET capacity = COALESCE(%(concurrency)s::integer, %(declared)s::integer, 2147483647)
     WHERE c.kind = %(kind)s::text
 RETURNING c.kind, c.key, c.held > 0 AND c.running < c.capacity AS admits
)
SELECT json_agg(json_build_array(kind, key))::text FROM counted WHERE admits
