-- name: topic_reset_detections_clear
-- params: $1 topic text, $2 services text[], $3 consumer text (NULL = every consumer)
-- returns: nothing
--
-- Forgets the detected resets of a topic: by the reset command for the stores it moved, by a service once its
-- positions fit the log again.
DELETE FROM ingest.topic_reset_detections
WHERE topic = $1::text AND service = ANY ($2::text[]) AND ($3::text IS NULL OR consumer = $3::text);
