-- name: lake_table_record
-- params: $1 lake text, $2 table_name text, $3 delta_version bigint, $4 export_sequence bigint, $5 rows_added bigint, $6 committed boolean, $7 caught_up boolean
-- returns: nothing. Per table: the Delta version and export sequence last recorded, rows exported so far, when
--          a commit was last made and when the export last reached the end of Postgres.
INSERT INTO ingest.lake_export_tables AS t
  (lake, table_name, delta_version, export_sequence, rows_exported, last_commit_at, caught_up_at, updated_at)
VALUES ($1::text, $2::text, $3::bigint, $4::bigint, $5::bigint,
        CASE WHEN $6::boolean THEN now() END, CASE WHEN $7::boolean THEN now() END, now())
ON CONFLICT (lake, table_name) DO UPDATE
SET delta_version = EXCLUDED.delta_version,
    export_sequence = EXCLUDED.export_sequence,
    rows_exported = t.rows_exported + EXCLUDED.rows_exported,
    last_commit_at = coalesce(EXCLUDED.last_commit_at, t.last_commit_at),
    caught_up_at = coalesce(EXCLUDED.caught_up_at, t.caught_up_at),
    updated_at = now();
