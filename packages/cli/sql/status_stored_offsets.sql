-- status_stored_offsets: the ingestor's authoritative next offsets (written with each batch), for `adpipe status`.
-- Params: $1 pipeline (the ingestor's consumer group), $2 topic.
SELECT "partition", next_offset::text AS next_offset
FROM ingest.consumer_offsets
WHERE pipeline = $1 AND topic = $2
ORDER BY "partition";
