-- name: status_stored_offsets
-- The ingestor's authoritative next offsets (written with each batch), for `adpipe status`.
-- params: $1 pipeline text (the ingestor's consumer group), $2 topic text
SELECT "partition", next_offset::text AS next_offset
FROM ingest.consumer_offsets
WHERE pipeline = $1 AND topic = $2
ORDER BY "partition";
