-- name: period_click_ids
-- params: $1 period_start_ms bigint, $2 period_end_ms bigint
-- returns: advertiser_id text, click_id text, event_ms text (bigint as text)
--
-- The click_ids already counted (non-duplicate clicks, which is all Silver's clean table holds) with event
-- time in [period start, period end): a rebuild of the Redis state puts them back into the per-advertiser
-- dedup sets, so a retry of a click counted before the rebuild is still recognised as a duplicate.
SELECT s.advertiser_id,
       s.click_id,
       (extract(epoch FROM s."timestamp") * 1000)::bigint::text AS event_ms
FROM silver.ad_click_events_clean s
WHERE s.event_type = 'ad_click'
  AND s.click_id IS NOT NULL
  AND s.advertiser_id IS NOT NULL
  AND s.gold_window_start IS NOT NULL
  AND s."timestamp" >= 'epoch'::timestamptz + $1::bigint * interval '1 millisecond'
  AND s."timestamp" <  'epoch'::timestamptz + $2::bigint * interval '1 millisecond';
