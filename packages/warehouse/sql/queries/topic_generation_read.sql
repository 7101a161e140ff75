-- name: topic_generation_read
-- params: $1 topic text
-- returns: generation integer, reset_id text (bigint; NULL for generation 0). No row: generation 0.
--
-- The warehouse's current generation of a topic: services poll it to notice a reset (adpipe offsets reset).
SELECT generation, reset_id::text AS reset_id
FROM ingest.topic_generations
WHERE topic = $1::text;
