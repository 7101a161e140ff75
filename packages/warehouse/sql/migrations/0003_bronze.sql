-- version: 0003
-- previous: 0002
-- name: bronze
--
-- Bronze: every Kafka record exactly as received, plus what parsing made of it.
-- Partitioned by day of the Kafka record timestamp: it is fixed for a given (topic, partition, offset),
-- so including it in the primary key keeps "one row per record" enforceable on a partitioned table,
-- and retention drops whole days by record time (see ingest.ensure_day_partitions / drop_day_partitions_before).

CREATE TABLE bronze.ad_click_events_raw (
  -- The seed's eight columns, typed on a best-effort basis (NULL when absent or unreadable).
  event_type       text,
  click_id         text,
  advertiser       text,
  advertiser_id    text,
  ad_id            text,
  amount           numeric(20, 6),
  budget_value     numeric(20, 6),
  "timestamp"      timestamptz,
  -- Lineage.
  topic            text        NOT NULL,
  "partition"      integer     NOT NULL,
  "offset"         bigint      NOT NULL,
  kafka_timestamp  timestamptz NOT NULL,
  record_key       bytea,
  -- NULL only for a Kafka record with a null value (tombstone).
  raw_payload      bytea,
  payload_bytes    integer     NOT NULL,
  payload_truncated boolean    NOT NULL DEFAULT false,
  -- 'parsed': an event object (it has a Silver row); 'rejected': not an event, see rejection_reason.
  parse_status     text        NOT NULL CHECK (parse_status IN ('parsed', 'rejected')),
  rejection_reason text,
  rejection_detail text,
  ingested_at      timestamptz NOT NULL DEFAULT now(),
  CHECK ((parse_status = 'rejected') = (rejection_reason IS NOT NULL)),
  PRIMARY KEY (topic, "partition", "offset", kafka_timestamp)
) PARTITION BY RANGE (kafka_timestamp);

CREATE INDEX ad_click_events_raw_rejection_idx
  ON bronze.ad_click_events_raw (rejection_reason, kafka_timestamp) WHERE rejection_reason IS NOT NULL;

COMMENT ON TABLE bronze.ad_click_events_raw IS
  'Every Kafka record as received; unique per (topic, partition, offset). Partitioned by day of kafka_timestamp.';
COMMENT ON COLUMN bronze.ad_click_events_raw.advertiser_id IS
  'advertiser_id as sent (NULL when absent, even though Silver defaults it to advertiser).';
