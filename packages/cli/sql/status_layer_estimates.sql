-- name: status_layer_estimates
-- Planner row estimates per layer (a table plus its partitions) and Gold's last write (freshness: warehouse
-- gold_freshness.sql), for `adpipe status --estimate`: instant on any table size, as fresh as the last ANALYZE /
-- autovacuum.
-- params: none
WITH tables(layer, relation) AS (
  VALUES ('bronze', 'bronze.ad_click_events_raw'::regclass),
         ('silver', 'silver.ad_click_events_clean'::regclass),
         ('duplicates', 'silver.duplicate_clicks'::regclass),
         ('gold', 'gold.advertiser_spend'::regclass)
), estimates AS (
  SELECT t.layer,
         sum(greatest(c.reltuples, 0))::bigint AS estimate
  FROM tables t
  JOIN pg_catalog.pg_class c
    ON c.oid = t.relation
    OR c.oid IN (SELECT inhrelid FROM pg_catalog.pg_inherits WHERE inhparent = t.relation)
  GROUP BY t.layer
)
SELECT
  (SELECT estimate FROM estimates WHERE layer = 'bronze')::text     AS bronze_rows,
  (SELECT estimate FROM estimates WHERE layer = 'silver')::text     AS silver_rows,
  (SELECT estimate FROM estimates WHERE layer = 'duplicates')::text AS duplicate_rows,
  (SELECT estimate FROM estimates WHERE layer = 'gold')::text       AS gold_rows,
  (SELECT max(updated_at) FROM gold.advertiser_spend)               AS gold_updated_at,
  now()                                                             AS db_now;
