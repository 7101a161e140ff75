-- name: status_layer_counts
-- Exact row counts per layer and Gold's last write (freshness: warehouse gold_freshness.sql), for `adpipe status`.
-- params: none
-- Exact counts scan every partition: on large tables prefer status_layer_estimates.sql (--estimate).
SELECT
  (SELECT count(*) FROM bronze.ad_click_events_raw)::text   AS bronze_rows,
  (SELECT count(*) FROM silver.ad_click_events_clean)::text AS silver_rows,
  (SELECT count(*) FROM silver.duplicate_clicks)::text      AS duplicate_rows,
  (SELECT count(*) FROM gold.advertiser_spend)::text        AS gold_rows,
  (SELECT max(updated_at) FROM gold.advertiser_spend)       AS gold_updated_at,
  now()                                                     AS db_now;
