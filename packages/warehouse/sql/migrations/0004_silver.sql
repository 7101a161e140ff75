-- version: 0004
-- previous: 0003
-- name: silver
--
-- Silver: one row per parseable Bronze record (valid or not). ad_click_events_clean holds every event except
-- later copies of an already-seen click (same advertiser_id and click_id: clickDedupKey of @adpipe/core),
-- which go to duplicate_clicks with the same columns plus the lineage of the first occurrence. A click_id is
-- therefore at most once (per advertiser) in ad_click_events_clean, and never spend twice.
-- Each row stores its contribution to gold.advertiser_spend (computed with spendContribution of @adpipe/core),
-- so reprocessing subtracts exactly what a row once added. Partitioned like Bronze by the Kafka record day.

CREATE TABLE silver.ad_click_events_clean (
  -- The seed's fourteen columns.
  event_type      text,
  click_id        text,
  advertiser      text,
  advertiser_id   text,
  ad_id           text,
  amount          numeric(20, 6),
  budget_value    numeric(20, 6),
  "timestamp"     timestamptz,
  is_valid        boolean     NOT NULL,
  processed_at    timestamptz NOT NULL DEFAULT now(),
  ingest_year     integer,
  ingest_month    integer,
  ingest_day      integer,
  ingest_hour     integer,
  -- Data-quality findings (closed code lists of @adpipe/core; is_valid = no error codes).
  error_codes     text[]      NOT NULL DEFAULT '{}',
  warnings        text[]      NOT NULL DEFAULT '{}',
  -- Contribution to gold.advertiser_spend row (advertiser_id, gold_window_start); NULL window = none.
  gold_window_start        timestamptz,
  contrib_gross_micros     bigint  NOT NULL DEFAULT 0,
  contrib_net_micros       bigint  NOT NULL DEFAULT 0,
  contrib_records          integer NOT NULL DEFAULT 0,
  contrib_valid_clicks     integer NOT NULL DEFAULT 0,
  contrib_invalid_clicks   integer NOT NULL DEFAULT 0,
  contrib_duplicate_clicks integer NOT NULL DEFAULT 0,
  -- Lineage (1:1 with Bronze).
  topic           text        NOT NULL,
  "partition"     integer     NOT NULL,
  "offset"        bigint      NOT NULL,
  kafka_timestamp timestamptz NOT NULL,
  PRIMARY KEY (topic, "partition", "offset", kafka_timestamp)
) PARTITION BY RANGE (kafka_timestamp);

-- Period spend by event time (the real-time tracker's rebuild) and per-advertiser drill-down.
CREATE INDEX ad_click_events_clean_advertiser_time_idx
  ON silver.ad_click_events_clean (advertiser_id, "timestamp");
CREATE INDEX ad_click_events_clean_time_idx
  ON silver.ad_click_events_clean ("timestamp");
CREATE INDEX ad_click_events_clean_gold_idx
  ON silver.ad_click_events_clean (advertiser_id, gold_window_start) WHERE gold_window_start IS NOT NULL;

CREATE TABLE silver.duplicate_clicks (
  event_type      text,
  click_id        text        NOT NULL,
  advertiser      text,
  advertiser_id   text        NOT NULL,
  ad_id           text,
  amount          numeric(20, 6),
  budget_value    numeric(20, 6),
  "timestamp"     timestamptz,
  is_valid        boolean     NOT NULL,
  processed_at    timestamptz NOT NULL DEFAULT now(),
  ingest_year     integer,
  ingest_month    integer,
  ingest_day      integer,
  ingest_hour     integer,
  error_codes     text[]      NOT NULL DEFAULT '{}',
  warnings        text[]      NOT NULL DEFAULT '{}',
  gold_window_start        timestamptz,
  contrib_gross_micros     bigint  NOT NULL DEFAULT 0,
  contrib_net_micros       bigint  NOT NULL DEFAULT 0,
  contrib_records          integer NOT NULL DEFAULT 0,
  contrib_valid_clicks     integer NOT NULL DEFAULT 0,
  contrib_invalid_clicks   integer NOT NULL DEFAULT 0,
  contrib_duplicate_clicks integer NOT NULL DEFAULT 0,
  -- The first occurrence this record duplicates (NULL when a concurrent transaction claimed it first).
  first_topic     text,
  first_partition integer,
  first_offset    bigint,
  topic           text        NOT NULL,
  "partition"     integer     NOT NULL,
  "offset"        bigint      NOT NULL,
  kafka_timestamp timestamptz NOT NULL,
  PRIMARY KEY (topic, "partition", "offset", kafka_timestamp)
) PARTITION BY RANGE (kafka_timestamp);

CREATE INDEX duplicate_clicks_click_idx ON silver.duplicate_clicks (advertiser_id, click_id);
CREATE INDEX duplicate_clicks_gold_idx
  ON silver.duplicate_clicks (advertiser_id, gold_window_start) WHERE gold_window_start IS NOT NULL;

COMMENT ON TABLE silver.ad_click_events_clean IS
  'Parsed events (valid and invalid; is_valid = no error findings); a click_id appears here at most once per advertiser.';
COMMENT ON TABLE silver.duplicate_clicks IS
  'Later records of an already-seen click: counted in gold duplicate_clicks, never spend.';
