-- name: offset_resets_recent
-- params: $1 topic text, $2 limit integer
-- returns: the latest resets of a topic (audit rows), newest first
SELECT id::text AS id, topic, target, actor, reason, source, plan, status, started_at, warehouse_applied_at,
       tracker_applied_at, completed_at
FROM ingest.offset_resets
WHERE topic = $1::text
ORDER BY id DESC
LIMIT $2::integer;
