-- name: topic_offsets_read
-- params: $1 topic text
-- returns: pipeline text, partition integer, next_offset text (bigint), generation integer
--
-- Every pipeline's stored next offset of a topic (no lock): what a reset would move.
SELECT pipeline, "partition", next_offset::text AS next_offset, generation
FROM ingest.consumer_offsets
WHERE topic = $1::text
ORDER BY pipeline, "partition";
