-- name: topic_offsets_lock
-- params: $1 topic text
-- returns: pipeline text, partition integer, next_offset text (bigint), generation integer
--
-- Row-locks every stored offset of a topic (all pipelines) for a reset, in (pipeline, partition) order: the same
-- per-pipeline (topic, partition) order as the ingestor's offsets_lock, so the two never deadlock. A batch that
-- waits here commits before the reset or sees the new generation after it.
SELECT pipeline, "partition", next_offset::text AS next_offset, generation
FROM ingest.consumer_offsets
WHERE topic = $1::text
ORDER BY pipeline, "partition"
FOR UPDATE;
