-- version: 0010
-- previous: 0009
-- name: lake_export
--
-- Progress of the Delta Lake export (services/delta-exporter, `adpipe export`, package @adpipe/lake), per lake
-- (the lake's location, e.g. "azure://account/container/prefix": exporting to two lakes keeps two progresses).
--  * lake_export_offsets: Bronze/Silver are exported by Kafka lineage. Per (topic, partition) the next offset not
--    yet exported. The same number is committed atomically in the Delta log as the `txn` action
--    (appId "adpipe-export/<topic>/<partition>", version = next offset), which is the source of truth: the
--    exporter writes this row right after the Delta commit and, on start, advances it to the Delta log's value
--    when a crash happened in between. It never writes a row twice because the Delta commit carries the txn.
--  * lake_export_tables: per table, the Delta version and export sequence (Gold's txn version) last recorded,
--    rows exported, and when the export last caught up with Postgres (export lag = now() - caught_up_at).

CREATE TABLE ingest.lake_export_offsets (
  lake          text        NOT NULL CHECK (length(lake) BETWEEN 1 AND 1000),
  table_name    text        NOT NULL,
  topic         text        NOT NULL,
  "partition"   integer     NOT NULL CHECK ("partition" >= 0),
  next_offset   bigint      NOT NULL CHECK (next_offset >= 0),
  delta_version bigint      NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (lake, table_name, topic, "partition")
);
COMMENT ON TABLE ingest.lake_export_offsets IS
  'Next Kafka offset not yet exported to the lake per table and partition (mirror of the Delta txn actions).';

CREATE TABLE ingest.lake_export_tables (
  lake            text        NOT NULL CHECK (length(lake) BETWEEN 1 AND 1000),
  table_name      text        NOT NULL,
  delta_version   bigint      NOT NULL,
  export_sequence bigint      NOT NULL DEFAULT 0,
  rows_exported   bigint      NOT NULL DEFAULT 0,
  last_commit_at  timestamptz,
  caught_up_at    timestamptz,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (lake, table_name)
);
COMMENT ON TABLE ingest.lake_export_tables IS
  'Per lake and table: last Delta version recorded, rows exported, when the export last caught up.';

-- The exporter runs as the writer role (it reads every layer and ingest.consumer_offsets).
GRANT SELECT, INSERT, UPDATE, DELETE ON ingest.lake_export_offsets, ingest.lake_export_tables TO adpipe_writer;
GRANT SELECT ON ingest.consumer_offsets TO adpipe_writer;
