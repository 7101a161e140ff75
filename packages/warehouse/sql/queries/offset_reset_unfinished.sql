-- name: offset_reset_unfinished
-- params: $1 topic text
-- returns: id, topic, target, actor, reason, source, plan, status, started_at, warehouse_applied_at, tracker_applied_at
SELECT id::text AS id, topic, target, actor, reason, source, plan, status, started_at, warehouse_applied_at,
       tracker_applied_at
FROM ingest.offset_resets
WHERE topic = $1::text AND status = 'started';
