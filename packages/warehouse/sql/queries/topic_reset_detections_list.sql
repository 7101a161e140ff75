-- name: topic_reset_detections_list
-- params: $1 topic text (NULL = every topic)
-- returns: service, consumer, topic, partition, generation, stored_offset, log_start_offset, log_end_offset (text), reason, detail, detected_at
SELECT service, consumer, topic, "partition", generation, stored_offset::text AS stored_offset,
       log_start_offset::text AS log_start_offset, log_end_offset::text AS log_end_offset, reason, detail,
       detected_at
FROM ingest.topic_reset_detections
WHERE $1::text IS NULL OR topic = $1::text
ORDER BY topic, service, consumer, "partition";
