-- name: topic_resets
-- Partitions whose stored position a service found beyond the log end (the topic was deleted and recreated):
-- the dashboard shows them in red until `adpipe offsets reset` clears them.
-- params: $1 topic
SELECT service, consumer, "partition", stored_offset::text AS stored_offset,
       log_end_offset::text AS log_end_offset, reason, detected_at
FROM ingest.topic_reset_detections
WHERE topic = $1
ORDER BY service, consumer, "partition"
LIMIT 100
