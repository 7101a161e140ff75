-- version: 0017
-- previous: 0016
-- name: alerts
--
-- Budget alerts (docs/alerts.md). An alert fires at most once per (advertiser, budget period, kind, threshold):
-- alerts.fired holds that key UNIQUE, and the evaluator inserts an alert and its deliveries (alerts.outbox, one row
-- per target: the Kafka topic, each webhook) in one transaction, so an alert is never fired twice nor fired
-- without its deliveries, whatever restarts, replicas, tracker crashes or Redis rebuilds happen meanwhile.
-- alerts.thresholds: per-advertiser thresholds set through the API (absent: the service default).
-- Least privilege: adpipe_alerter reads Silver and Gold's budget functions and writes the alerts schema;
-- adpipe_api lists alerts and their deliveries and sets thresholds.

CREATE SCHEMA IF NOT EXISTS alerts;
COMMENT ON SCHEMA alerts IS 'Budget alerts fired once per advertiser, period and threshold, and their delivery outbox.';

-- True when the list is sorted ascending without duplicates or NULLs: what alertThresholds in @adpipe/core accepts
-- (with 1..10 elements in 1..1000), so the evaluator never meets a list the rule refuses.
CREATE FUNCTION alerts.sorted_distinct(p_list integer[])
RETURNS boolean
LANGUAGE sql IMMUTABLE
AS $$
  SELECT array_position(p_list, NULL) IS NULL
     AND p_list = ARRAY(SELECT DISTINCT x FROM unnest(p_list) AS x ORDER BY x)
$$;

CREATE TABLE alerts.thresholds (
  advertiser_id text PRIMARY KEY,
  thresholds_pct integer[] NOT NULL
    CHECK (cardinality(thresholds_pct) BETWEEN 1 AND 10 AND 1 <= ALL (thresholds_pct) AND 1000 >= ALL (thresholds_pct)
           AND alerts.sorted_distinct(thresholds_pct)),
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text NOT NULL
);
COMMENT ON TABLE alerts.thresholds IS
  'Per-advertiser budget_threshold alerts in percent of the budget; advertisers without a row use ALERT_THRESHOLDS_PCT.';

-- Who changed an advertiser's thresholds, from what to what (append-only for the API role).
CREATE TABLE alerts.threshold_audit (
  id bigserial PRIMARY KEY,
  advertiser_id text NOT NULL,
  old_thresholds_pct integer[],
  new_thresholds_pct integer[],
  actor text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE alerts.threshold_audit IS
  'Alert threshold changes through the API; NULL thresholds = the service default (ALERT_THRESHOLDS_PCT).';
CREATE INDEX threshold_audit_advertiser_idx ON alerts.threshold_audit (advertiser_id, id);

CREATE TABLE alerts.fired (
  event_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  advertiser_id text NOT NULL,
  advertiser text,
  period_id text NOT NULL,
  period_start timestamptz NOT NULL,
  period_end timestamptz NOT NULL,
  kind text NOT NULL CHECK (kind IN ('budget_threshold', 'ahead_of_pace', 'exhausted_early')),
  threshold_pct integer NOT NULL CHECK (threshold_pct BETWEEN 0 AND 1000),
  period_net_micros bigint NOT NULL,
  budget_micros bigint NOT NULL CHECK (budget_micros > 0),
  fired_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT fired_once UNIQUE (advertiser_id, period_id, kind, threshold_pct)
);
COMMENT ON TABLE alerts.fired IS
  'Every alert fired, once per (advertiser_id, period_id, kind, threshold_pct); event_id is the id on every delivery.';
-- GET /v1/alerts: newest first, optionally one advertiser's.
CREATE INDEX fired_at_idx ON alerts.fired (fired_at DESC, event_id);
CREATE INDEX fired_advertiser_idx ON alerts.fired (advertiser_id, fired_at DESC, event_id);

CREATE TABLE alerts.outbox (
  id bigserial PRIMARY KEY,
  event_id uuid NOT NULL REFERENCES alerts.fired (event_id),
  channel text NOT NULL CHECK (channel IN ('kafka', 'webhook')),
  -- The topic (kafka) or URL (webhook) the delivery goes to, fixed when the alert fired.
  destination text NOT NULL,
  state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  CONSTRAINT outbox_once UNIQUE (event_id, channel, destination)
);
COMMENT ON TABLE alerts.outbox IS
  'One delivery of an alert: pending (retried with exponential backoff), delivered, or dead after the last attempt.';
CREATE INDEX outbox_due_idx ON alerts.outbox (next_attempt_at, id) WHERE state = 'pending';
-- Dead deliveries are counted every few seconds (metrics): an index of only them, however many were delivered.
CREATE INDEX outbox_dead_idx ON alerts.outbox (id) WHERE state = 'dead';

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'adpipe_alerter') THEN
    CREATE ROLE adpipe_alerter NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- created concurrently by a migration in another database
END
$$;

GRANT USAGE ON SCHEMA silver, gold, alerts TO adpipe_alerter;
GRANT SELECT ON silver.ad_click_events_clean, gold.advertiser_spend, gold.budget_history TO adpipe_alerter;
GRANT EXECUTE ON FUNCTION gold.budget_in_force(text, timestamptz), gold.mode_in_force(text, timestamptz)
  TO adpipe_alerter;
GRANT SELECT ON alerts.thresholds TO adpipe_alerter;
GRANT SELECT, INSERT ON alerts.fired TO adpipe_alerter;
GRANT SELECT, INSERT, UPDATE ON alerts.outbox TO adpipe_alerter;
GRANT USAGE ON SEQUENCE alerts.outbox_id_seq TO adpipe_alerter;
GRANT SELECT ON ingest.schema_migrations TO adpipe_alerter;
GRANT USAGE ON SCHEMA ingest TO adpipe_alerter;

GRANT USAGE ON SCHEMA alerts TO adpipe_api;
GRANT SELECT ON alerts.fired, alerts.outbox TO adpipe_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON alerts.thresholds TO adpipe_api;
GRANT SELECT, INSERT ON alerts.threshold_audit TO adpipe_api;
GRANT USAGE ON SEQUENCE alerts.threshold_audit_id_seq TO adpipe_api;
