-- name: forget_offsets
-- params: $1 pipeline text, $2 topic text
-- returns: partition integer, next_offset text (bigint as text): the positions removed
--
-- Removes the stored positions of one pipeline on one topic, for a topic that was created anew (the local
-- supervisor after it started an empty broker): the ingestor then starts the new log at its beginning. The
-- rows already derived (Bronze/Silver/Gold, the click registry) stay.
DELETE FROM ingest.consumer_offsets
WHERE pipeline = $1::text AND topic = $2::text
RETURNING "partition", next_offset::text AS next_offset;
