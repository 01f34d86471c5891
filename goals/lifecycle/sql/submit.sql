-- name: insert_goals
-- submit, bulk submit and spawn: insert goals of one kind (each pending at its first attempt, or
-- scheduled until %(run_after)s when that is still to come, with that attempt's row and its "submit"
-- journal row) from a JSON array of [id, task_id, key, params, limit_key, rate_key]; a schedule's period
-- names its schedule. The limit keys (goals.executors.limits) are '' for a kind-wide limit or none; for a
-- kind with a rate (%(rated)s::boolean: its executor's, or an operator's), each key's window row is made
-- before any of its goals can start, so the first starts of a key count against it as every later one.
--
-- A key names a goal among its kind's (an idempotency key) or, with a parent, among its siblings; a
-- key already used inserts nothing for its item. With a parent (parent_id), the children are fenced on
-- the parent's running attempt (a stale attempt inserts nothing), inserted under the parent's row lock
-- with its owner and a deadline no later than its own, and counted in its children_total. The array is
-- parsed once by the server, where arrays of text would be quoted item by item by the client. Returns
-- one row: whether the parent was running (NULL without one), the goals' created_at (now(), the same
-- for the whole transaction), whether they are scheduled and the positions of the items not inserted.
WITH parent AS (
    SELECT id, owner_id, deadline
      FROM goals_goal
     WHERE id = %(parent_id)s::uuid AND state = 'running' AND attempt = %(parent_attempt)s::integer
       FOR UPDATE
),
starts AS (
    -- Whether the goals wait for a start time still to come (decided by the server's clock, once).
    SELECT COALESCE(%(run_after)s::timestamptz > now(), false) AS later
),
item AS (
    SELECT (item->>0)::uuid AS id, item->>1 AS task_id, item->>2 AS key, item->3 AS params,
           COALESCE(item->>4, '') AS limit_key, COALESCE(item->>5, '') AS rate_key, position
      FROM jsonb_array_elements(%(items)s::jsonb) WITH ORDINALITY AS items(item, position)
),
goal AS (
    INSERT INTO goals_goal
           (id, kind, params, state, attempt, max_attempts, progress_current, progress_message, task_id, owner_id,
            idempotency_key, created_at, deadline, parent_id, child_key, run_after, schedule_id, limit_key,
            rate_key, trace_context)
    SELECT i.id, %(kind)s::text, i.params, CASE WHEN s.later THEN 'scheduled' ELSE 'pending' END, 1,
           %(max_attempts)s::integer, 0, '', i.task_id, COALESCE(p.owner_id, %(owner_id)s::integer),
           CASE WHEN p.id IS NULL THEN i.key END, now(), LEAST(p.deadline, %(deadline)s::timestamptz), p.id,
           CASE WHEN p.id IS NOT NULL THEN i.key END, CASE WHEN s.later THEN %(run_after)s::timestamptz END,
           %(schedule_id)s::bigint, i.limit_key, i.rate_key, %(trace_context)s::jsonb
      FROM item i LEFT JOIN parent p ON true CROSS JOIN starts s
     WHERE %(parent_id)s::uuid IS NULL OR p.id IS NOT NULL
     ORDER BY i.position
        -- (kind, idempotency_key) for a goal, (parent_id, child_key) for a child
        ON CONFLICT DO NOTHING
 RETURNING id, task_id, state, created_at
),
attempt AS (
    INSERT INTO goals_attempt (goal_id, number, task_id, worker, created_at, outcome)
    SELECT id, 1, task_id, '', created_at, '' FROM goal
),
journal AS (
    INSERT INTO goals_goalevent
           (goal_id, created_at, event, transition, from_state, to_state, attempt, task_id, cause, actor, details)
    SELECT id, created_at, 'transition', 'submit', '', state, 1, task_id, %(cause)s::text, %(actor)s::text, '{}'
      FROM goal
),
limits AS (
    -- The kind's limits in force, read once: an operator's (goals_kindcontrol) over its executor's
    -- (%(capacity)s::integer, its concurrency; %(rated)s::boolean, whether it declares a rate).
    SELECT COALESCE(k.concurrency, %(capacity)s::integer) AS capacity, %(rated)s::boolean OR k.rate IS NOT NULL AS rated
      FROM (SELECT 1) AS one LEFT JOIN goals_kindcontrol k ON k.kind = %(kind)s::text
),
slots AS (
    -- For a kind with a concurrency limit, each key's row of slots, made before any of its goals can start.
    INSERT INTO goals_concurrency (kind, key, running, held, capacity)
    SELECT DISTINCT %(kind)s::text, i.limit_key, 0, 0, l.capacity
      FROM item i CROSS JOIN limits l
     WHERE l.capacity IS NOT NULL
        ON CONFLICT (kind, key) DO NOTHING
),
windows AS (
    INSERT INTO goals_rate (kind, key, starts)
    SELECT DISTINCT %(kind)s::text, i.rate_key, '{}'::timestamptz[]
      FROM item i CROSS JOIN limits l
     WHERE l.rated
        ON CONFLICT (kind, key) DO NOTHING
),
counted AS (
    UPDATE goals_goal AS g
       SET children_total = g.children_total + (SELECT count(*) FROM goal)
      FROM parent p
     WHERE g.id = p.id
)
SELECT CASE WHEN %(parent_id)s::uuid IS NOT NULL THEN EXISTS (SELECT FROM parent) END, now(),
       (SELECT later FROM starts),
       ARRAY(SELECT position FROM item WHERE NOT EXISTS (SELECT FROM goal WHERE goal.id = item.id))
