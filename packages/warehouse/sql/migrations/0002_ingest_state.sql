-- version: 0002
-- previous: 0001
-- name: ingest_state
--
-- Pipeline state that makes the warehouse path exactly-once:
--  * consumer_offsets: the next offset to read per (pipeline, topic, partition), written in the same
--    transaction as the rows derived from the records below it. On assignment the consumer seeks here.
--  * click_registry: the first occurrence of every click (dedup key = advertiser_id + click_id, across
--    partitions), so a click is spend at most once. Pruned by a horizon (see docs/warehouse.md) with ingest.prune_click_registry.

CREATE TABLE ingest.consumer_offsets (
  pipeline    text        NOT NULL,
  topic       text        NOT NULL,
  "partition" integer     NOT NULL CHECK ("partition" >= 0),
  next_offset bigint      NOT NULL CHECK (next_offset >= 0),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pipeline, topic, "partition")
);
COMMENT ON TABLE ingest.consumer_offsets IS
  'Next Kafka offset to consume per pipeline (consumer group), topic and partition; authoritative over Kafka commits.';

CREATE TABLE ingest.click_registry (
  -- clickDedupKey of @adpipe/core: "<advertiser_id length>:<advertiser_id>:<click_id>" (scoped per advertiser).
  dedup_key       text        PRIMARY KEY,
  click_id        text        NOT NULL,
  advertiser_id   text        NOT NULL,
  topic           text        NOT NULL,
  "partition"     integer     NOT NULL,
  "offset"        bigint      NOT NULL,
  kafka_timestamp timestamptz NOT NULL,
  event_time      timestamptz,
  registered_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX click_registry_kafka_timestamp_idx ON ingest.click_registry (kafka_timestamp);
COMMENT ON TABLE ingest.click_registry IS
  'First occurrence (lineage) of each click (per advertiser); later records with the same key are duplicates.';

-- Deletes registry entries whose first record is older than the cutoff, in bounded chunks so a large
-- prune never holds long locks. Returns the number of entries removed.
CREATE FUNCTION ingest.prune_click_registry(cutoff timestamptz, chunk integer DEFAULT 50000)
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
  removed bigint := 0;
  n bigint;
BEGIN
  LOOP
    DELETE FROM ingest.click_registry r
    WHERE r.ctid = ANY (ARRAY(
      SELECT ctid FROM ingest.click_registry WHERE kafka_timestamp < cutoff LIMIT chunk
    ));
    GET DIAGNOSTICS n = ROW_COUNT;
    removed := removed + n;
    EXIT WHEN n < chunk;
  END LOOP;
  RETURN removed;
END
$$;

-- Budget periods: the window over which period-to-date net spend is compared with the budget.
-- Mirrors budgetPeriodOf in @adpipe/core (tested to agree); the time zone is per call so a
-- per-advertiser budget time zone can be added without changing the rule.
CREATE FUNCTION ingest.budget_period_start(ts timestamptz, period text, tz text DEFAULT 'UTC')
RETURNS timestamptz
LANGUAGE sql
STABLE PARALLEL SAFE
AS $$
  SELECT CASE period
    WHEN 'hour' THEN date_trunc('hour', ts, tz)
    WHEN 'day' THEN date_trunc('day', ts, tz)
    WHEN 'month' THEN date_trunc('month', ts, tz)
    WHEN 'lifetime' THEN '-infinity'::timestamptz
  END
$$;
