-- name: outbox_status
-- params: none
-- returns: pending text, dead text, oldest_pending_ms text
--
-- The outbox at a glance for metrics and readiness: deliveries waiting, dead ones, age of the oldest waiting.
SELECT count(*) FILTER (WHERE state = 'pending')::text AS pending,
       count(*) FILTER (WHERE state = 'dead')::text AS dead,
       coalesce((extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'pending')) * 1000)::bigint, 0)::text
         AS oldest_pending_ms
FROM alerts.outbox
