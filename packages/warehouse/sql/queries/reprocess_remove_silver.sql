-- name: reprocess_remove_silver
-- params: $1 from_ms bigint, $2 to_ms bigint (Kafka record time range [from, to))
-- returns: advertiser_id text, from_ms text (earliest instant whose serving decision may change), window_ms text (a Gold key whose sums changed; NULL for budget-only rows)
--
-- First step of reprocessing a record-time range: deletes the range's Silver rows (clean and duplicate), click
-- registry claims and budget observations, and subtracts exactly the Gold contributions those Silver rows had
-- added. The range is then rebuilt from Bronze with write_batch ($61 = false: Bronze untouched).
-- (removed_claims is not referenced: data-modifying CTEs run regardless.)
WITH bounds AS (
  SELECT 'epoch'::timestamptz + $1::bigint * interval '1 millisecond' AS lo,
         'epoch'::timestamptz + $2::bigint * interval '1 millisecond' AS hi
),
removed_clean AS (
  DELETE FROM silver.ad_click_events_clean s USING bounds b
  WHERE s.kafka_timestamp >= b.lo AND s.kafka_timestamp < b.hi
  RETURNING s.advertiser_id, s.gold_window_start, s.contrib_gross_micros, s.contrib_net_micros, s.contrib_records,
            s.contrib_valid_clicks, s.contrib_invalid_clicks, s.contrib_duplicate_clicks, s.contrib_over_cap_micros
),
removed_duplicates AS (
  DELETE FROM silver.duplicate_clicks s USING bounds b
  WHERE s.kafka_timestamp >= b.lo AND s.kafka_timestamp < b.hi
  RETURNING s.advertiser_id, s.gold_window_start, s.contrib_gross_micros, s.contrib_net_micros, s.contrib_records,
            s.contrib_valid_clicks, s.contrib_invalid_clicks, s.contrib_duplicate_clicks, s.contrib_over_cap_micros
),
deltas AS (
  SELECT r.advertiser_id, r.gold_window_start,
         sum(r.contrib_gross_micros) AS gross, sum(r.contrib_net_micros) AS net, sum(r.contrib_records) AS records,
         sum(r.contrib_valid_clicks) AS valid, sum(r.contrib_invalid_clicks) AS invalid,
         sum(r.contrib_duplicate_clicks) AS duplicate, sum(r.contrib_over_cap_micros) AS over_cap
  FROM (SELECT * FROM removed_clean UNION ALL SELECT * FROM removed_duplicates) r
  WHERE r.gold_window_start IS NOT NULL AND r.advertiser_id IS NOT NULL
  GROUP BY r.advertiser_id, r.gold_window_start
),
subtracted AS (
  UPDATE gold.advertiser_spend g
  SET gross_spend = g.gross_spend - d.gross * 0.000001,
      net_spend = g.net_spend - d.net * 0.000001,
      over_cap_spend = g.over_cap_spend - d.over_cap * 0.000001,
      record_count = g.record_count - d.records,
      valid_clicks = g.valid_clicks - d.valid,
      invalid_clicks = g.invalid_clicks - d.invalid,
      duplicate_clicks = g.duplicate_clicks - d.duplicate,
      updated_at = now()
  FROM deltas d
  WHERE g.advertiser_id = d.advertiser_id AND g.window_start = d.gold_window_start
  RETURNING g.advertiser_id, g.window_start
),
removed_claims AS (
  DELETE FROM ingest.click_registry r USING bounds b
  WHERE r.kafka_timestamp >= b.lo AND r.kafka_timestamp < b.hi
  RETURNING 1
),
removed_budgets AS (
  DELETE FROM gold.budget_history h USING bounds b
  WHERE h.kafka_timestamp >= b.lo AND h.kafka_timestamp < b.hi
  RETURNING h.advertiser_id, h.event_time
)
SELECT s.advertiser_id,
       ((extract(epoch FROM s.window_start) * 1000)::bigint)::text AS from_ms,
       ((extract(epoch FROM s.window_start) * 1000)::bigint)::text AS window_ms
FROM subtracted s
UNION ALL
SELECT h.advertiser_id, ((extract(epoch FROM h.event_time) * 1000)::bigint)::text, NULL
FROM removed_budgets h;
