-- version: 0020
-- previous: 0019
-- name: budget_calendars
--
-- Per-advertiser budget calendars in the warehouse (docs/core.md, "Per-advertiser budget period and time zone";
-- docs/warehouse.md, "Per-advertiser calendars"): an explicit budget update may set the advertiser's own
-- budget_period and IANA time_zone, kept like budget_mode so that a rebuild of the real-time state restores them.
--  * budget_history.budget_period / time_zone: the setting this update set (NULL: it left that setting as it
--    was; click-carried observations never set one). The setting in force is that of the latest such row by
--    event time, ties the later lineage (supersedesSetting of @adpipe/core), period and zone each on its own.
--  * gold.advertiser_spend.local_spend_day: the local date, in the advertiser's time zone in force at the hour's
--    start (by event time, among the settings the warehouse knew when it wrote the hour; BUDGET_TIME_ZONE when
--    none), of the hour's start. Gold keeps its UTC hours and its UTC spend_day (the views' contract, seed
--    columns) unchanged. NULL on hours written before this migration.
-- Existing rows set no calendar (none could before 0018's API): nothing to backfill. Nullable columns without
-- defaults: no table rewrite.

ALTER TABLE gold.budget_history
  ADD COLUMN budget_period text CHECK (budget_period IN ('hour', 'day', 'month', 'lifetime')),
  ADD COLUMN time_zone text CHECK (length(time_zone) BETWEEN 1 AND 64);
COMMENT ON COLUMN gold.budget_history.budget_period IS
  'hour | day | month | lifetime: the budget period this explicit budget update set; NULL leaves it unchanged.';
COMMENT ON COLUMN gold.budget_history.time_zone IS
  'IANA time zone this explicit budget update set for the advertiser''s periods; NULL leaves it unchanged.';

-- Calendar changes are operators' decisions (few): the rebuild reads them all in log order.
CREATE INDEX budget_history_calendar_idx
  ON gold.budget_history (advertiser_id, topic_generation, topic, "partition", "offset")
  WHERE budget_period IS NOT NULL OR time_zone IS NOT NULL;

-- "The zone in force before t" (Gold's local_spend_day): one probe per Gold key of a batch.
CREATE INDEX budget_history_zone_idx
  ON gold.budget_history (advertiser_id, event_time, topic, "partition", "offset")
  WHERE time_zone IS NOT NULL;

ALTER TABLE gold.advertiser_spend
  ADD COLUMN local_spend_day date;
COMMENT ON COLUMN gold.advertiser_spend.local_spend_day IS
  'Local date of the hour''s start in the advertiser''s time zone in force then (BUDGET_TIME_ZONE when it set none); spend_day stays the UTC day.';
