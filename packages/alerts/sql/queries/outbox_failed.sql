-- name: outbox_failed
-- params: $1 ids bigint[], $2 retry_in_ms integer[], $3 dead boolean[], $4 errors text[]
-- returns: id text, state text
--
-- Records failed attempts: each row is due again after its backoff, or dead (no more attempts) when its flag says
-- so. The error text is the dispatcher's summary (status code or error class), never a secret.
UPDATE alerts.outbox o
SET state = CASE WHEN f.dead THEN 'dead' ELSE 'pending' END,
    next_attempt_at = now() + f.retry_in_ms * interval '1 millisecond',
    last_error = f.error
FROM unnest($1::bigint[], $2::integer[], $3::boolean[], $4::text[]) AS f(id, retry_in_ms, dead, error)
WHERE o.id = f.id AND o.state = 'pending'
RETURNING o.id::text AS id, o.state
