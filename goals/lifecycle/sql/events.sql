-- name: lock_event_addresses
-- Serialises an event's arrival with the waits it may resume, per address (a goal's id, or an event name
-- and correlation key), until the transaction ends: whichever comes second sees the other committed, so an
-- event sent as its goal starts to wait is never missed by both. A transaction-level advisory lock per
-- address, taken in the order given.
SELECT count(pg_advisory_xact_lock(hashtextextended(address, 0)))
  FROM unnest(%(addresses)s::text[]) WITH ORDINALITY AS a(address, position)

-- name: record_event
-- An outside event arrives: recorded once per (name, event key), so a sender's retries are one event, and
-- the goal it resumes found, locked: the oldest goal waiting for it, by its id (%(goal_id)s::uuid) or by
-- the correlation key its wait declared (%(key)s::text), among the sender's own unless
-- %(owner_id)s::integer is NULL (the system, or staff). The move that resumes it (move_goals, resume)
-- consumes the event in its own statement. Returns the event's id, whether it is new, and the goal to
-- resume (id, attempt) if a new event found one.
WITH inserted AS (
    INSERT INTO goals_externalevent (name, correlation_key, goal_id, owner_id, payload, event_key, received_at)
    VALUES (%(name)s::text, %(key)s::text, %(goal_id)s::uuid, %(owner_id)s::integer, %(payload)s::jsonb,
            %(event_key)s::text, now())
        ON CONFLICT (name, event_key) WHERE event_key IS NOT NULL DO NOTHING
    RETURNING id
),
event AS (
    SELECT id, true AS new FROM inserted
    UNION ALL
    SELECT e.id, false FROM goals_externalevent e
     WHERE e.name = %(name)s::text AND e.event_key = %(event_key)s::text AND NOT EXISTS (SELECT FROM inserted)
),
waiting AS (
    SELECT g.id, g.attempt
      FROM goals_goal g
     WHERE EXISTS (SELECT FROM inserted)
       AND g.state = 'waiting' AND g.wait_event = %(name)s::text
       AND (g.id = %(goal_id)s::uuid OR (%(goal_id)s::uuid IS NULL AND g.wait_key = %(key)s::text))
       AND (%(owner_id)s::integer IS NULL OR g.owner_id = %(owner_id)s::integer)
     ORDER BY g.id
     LIMIT 1
       FOR UPDATE OF g
)
SELECT event.id, event.new, waiting.id, waiting.attempt FROM event LEFT JOIN waiting ON true

-- name: claim_early_event
-- A goal has just begun to wait: the oldest event it waits for that arrived before, not consumed yet, sent
-- to it by id or by the key it declared, by the system or by its own owner; locked, for the resume that
-- consumes it in the same transaction.
SELECT e.id
  FROM goals_externalevent e
 WHERE e.consumed_at IS NULL AND e.name = %(name)s::text
   AND (e.goal_id = %(goal_id)s::uuid
        OR (e.goal_id IS NULL AND %(key)s::text IS NOT NULL AND e.correlation_key = %(key)s::text))
   AND (e.owner_id IS NULL OR e.owner_id = (SELECT g.owner_id FROM goals_goal g WHERE g.id = %(goal_id)s::uuid))
 ORDER BY e.id
 LIMIT 1
   FOR UPDATE SKIP LOCKED
