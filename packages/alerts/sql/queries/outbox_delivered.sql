-- name: outbox_delivered
-- params: $1 ids bigint[]
-- returns: id text
--
-- Marks claimed deliveries delivered.
UPDATE alerts.outbox
SET state = 'delivered', delivered_at = now(), last_error = NULL
WHERE id = ANY ($1::bigint[]) AND state = 'pending'
RETURNING id::text AS id
