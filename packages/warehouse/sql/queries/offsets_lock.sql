-- name: offsets_lock
-- params: $1 pipeline text, $2 topics text[], $3 partitions integer[] (aligned: one (topic, partition) per element)
-- returns: topic text, partition integer, next_offset text (bigint as text), generation integer
--
-- Creates missing offset rows (next_offset 0, in the topic's current generation) and row-locks all of them for the
-- rest of the batch transaction: ON CONFLICT DO UPDATE locks the existing row like SELECT ... FOR UPDATE, and also
-- serialises two writers racing to create the same row. Rows are taken in (topic, partition) order so concurrent
-- writers (and `adpipe offsets reset`, which locks them in the same order) never deadlock.
INSERT INTO ingest.consumer_offsets AS o (pipeline, topic, "partition", next_offset, generation)
SELECT $1::text, tp.topic, tp."partition", 0,
       coalesce((SELECT g.generation FROM ingest.topic_generations g WHERE g.topic = tp.topic), 0)
FROM unnest($2::text[], $3::integer[]) AS tp(topic, "partition")
ORDER BY tp.topic, tp."partition"
ON CONFLICT (pipeline, topic, "partition") DO UPDATE SET next_offset = o.next_offset
RETURNING o.topic, o."partition", o.next_offset::text AS next_offset, o.generation;
