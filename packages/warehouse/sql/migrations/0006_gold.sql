-- version: 0006
-- previous: 0005
-- name: gold
--
-- Gold: one row per (advertiser_id, hour window) with the seed's twelve columns plus click counts and the
-- budget bookkeeping behind can_serve. Maintained incrementally per batch (amounts and counts added by upsert),
-- then budget_value / can_serve re-evaluated for every row the batch can have changed (set-based, see
-- queries/gold_reevaluate_serving.sql). Small (hourly): not partitioned, kept forever.
--
-- budget_history keeps every valid budget observation (by event time): the budget in force at an instant is
-- the latest observation at or before it. It is not subject to Bronze/Silver retention, because a budget set
-- months ago can still be in force.

CREATE TABLE gold.advertiser_spend (
  -- The seed's twelve columns. advertiser = last non-null name on the window's clicks in partition order
  -- (NULL when no click carried one; the views then show advertiser_id).
  advertiser        text,
  advertiser_id     text           NOT NULL,
  gross_spend       numeric(20, 6) NOT NULL DEFAULT 0,
  net_spend         numeric(20, 6) NOT NULL DEFAULT 0,
  record_count      bigint         NOT NULL DEFAULT 0,
  budget_value      numeric(20, 6),
  can_serve         boolean        NOT NULL DEFAULT false,
  window_start      timestamptz    NOT NULL,
  window_end        timestamptz    NOT NULL,
  spend_hour        timestamptz    NOT NULL,
  spend_day         timestamptz    NOT NULL,
  spend_month       timestamptz    NOT NULL,
  -- Click counts: valid + invalid = non-duplicate clicks; duplicates are later copies of a click_id.
  valid_clicks      bigint         NOT NULL DEFAULT 0,
  invalid_clicks    bigint         NOT NULL DEFAULT 0,
  duplicate_clicks  bigint         NOT NULL DEFAULT 0,
  -- Budget bookkeeping, as of window_end: the observation in force and the period-to-date net spend.
  budget_event_time timestamptz,
  period_net_spend  numeric(20, 6) NOT NULL DEFAULT 0,
  serving_reason    text,
  -- Newest event time that contributed to the row, and when the row last changed.
  last_event_time   timestamptz,
  updated_at        timestamptz    NOT NULL DEFAULT now(),
  PRIMARY KEY (advertiser_id, window_start),
  CHECK (window_end = window_start + interval '1 hour'),
  CHECK (gross_spend >= 0 AND net_spend >= 0 AND record_count >= 0)
);

CREATE INDEX advertiser_spend_window_idx ON gold.advertiser_spend (window_start);
CREATE INDEX advertiser_spend_day_idx ON gold.advertiser_spend (spend_day, advertiser_id);
CREATE INDEX advertiser_spend_month_idx ON gold.advertiser_spend (spend_month, advertiser_id);
CREATE INDEX advertiser_spend_advertiser_idx ON gold.advertiser_spend (advertiser, window_start);

COMMENT ON TABLE gold.advertiser_spend IS
  'Hourly spend per advertiser (event time, UTC); upsert key (advertiser_id, window_start).';
COMMENT ON COLUMN gold.advertiser_spend.can_serve IS
  'Evaluated at window_end: period-to-date net spend < budget in force (budget 0 or none = not serving).';

CREATE TABLE gold.budget_history (
  advertiser_id   text           NOT NULL,
  advertiser      text,
  event_time      timestamptz    NOT NULL,
  budget_value    numeric(20, 6) NOT NULL CHECK (budget_value >= 0),
  event_type      text           NOT NULL,
  -- Lineage of the record (also the tie-break between observations with the same event time).
  topic           text           NOT NULL,
  "partition"     integer        NOT NULL,
  "offset"        bigint         NOT NULL,
  kafka_timestamp timestamptz    NOT NULL,
  PRIMARY KEY (advertiser_id, event_time, topic, "partition", "offset")
);
CREATE INDEX budget_history_lineage_idx ON gold.budget_history (kafka_timestamp);

COMMENT ON TABLE gold.budget_history IS
  'Every valid budget observation; budget in force at t = latest by (event_time, lineage) with event_time <= t.';

