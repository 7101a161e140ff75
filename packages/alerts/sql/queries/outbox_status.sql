-- name: outbox_status
-- params: none
-- returns: pending text, dead text, oldest_pending_ms text
--
-- The outbox at a glance for metrics and readiness: deliveries waiting, dead ones, age of the oldest waiting.
-- Each count reads its own partial index (outbox_due_idx, outbox_dead_idx), never the delivered rows.
SELECT (SELECT count(*) FROM alerts.outbox WHERE state = 'pending')::text AS pending,
       (SELECT count(*) FROM alerts.outbox WHERE state = 'dead')::text AS dead,
       coalesce((SELECT (extract(epoch FROM now() - min(created_at)) * 1000)::bigint
                 FROM alerts.outbox WHERE state = 'pending'), 0)::text AS oldest_pending_ms
