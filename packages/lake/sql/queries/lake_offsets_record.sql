-- name: lake_offsets_record
-- params: $1 lake text, $2 table_name text, $3 topics text[], $4 partitions integer[], $5 next_offsets bigint[], $6 delta_version bigint, $7 generations integer[]
-- returns: nothing. Records the export progress the Delta log already holds (set, not max: a full re-export
--          may lower it), one statement for every partition (and topic generation) of a commit.
INSERT INTO ingest.lake_export_offsets AS o
  (lake, table_name, topic, generation, "partition", next_offset, delta_version, updated_at)
SELECT $1::text, $2::text, s.topic, s.generation, s."partition", s.next_offset, $6::bigint, now()
FROM unnest($3::text[], $4::integer[], $5::bigint[], $7::integer[]) AS s(topic, "partition", next_offset, generation)
ON CONFLICT (lake, table_name, topic, generation, "partition") DO UPDATE
SET next_offset = EXCLUDED.next_offset, delta_version = EXCLUDED.delta_version, updated_at = now();
