-- name: stored_offsets
-- params: $1 pipeline text, $2 topic text
-- returns: partition integer, next_offset text (bigint as text): the next offset to read, per partition;
--          generation integer: the generation of the topic log that offset belongs to
SELECT "partition", next_offset::text AS next_offset, generation
FROM ingest.consumer_offsets
WHERE pipeline = $1::text AND topic = $2::text
ORDER BY "partition";
