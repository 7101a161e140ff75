-- name: lake_offsets_read
-- params: $1 lake text, $2 table_name text
-- returns: topic text, generation integer, partition integer, next_offset text (bigint): the export progress
--          recorded in Postgres
SELECT topic, generation, "partition", next_offset::text AS next_offset
FROM ingest.lake_export_offsets
WHERE lake = $1::text AND table_name = $2::text
ORDER BY topic, generation, "partition";
