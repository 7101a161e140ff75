-- name: period_click_ids_windows
-- params: $1 advertiser_ids text[], $2 start_ms bigint[], $3 end_ms bigint[] (aligned per advertiser)
-- returns: advertiser_id text, click_id text, event_ms text (bigint as text)
--
-- period_click_ids for advertisers with a calendar of their own: the click_ids Silver counted with event time in
-- each advertiser's own period window, put back into its dedup sets by a rebuild.
SELECT s.advertiser_id,
       s.click_id,
       (extract(epoch FROM s."timestamp") * 1000)::bigint::text AS event_ms
FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS w(advertiser_id, start_ms, end_ms)
JOIN silver.ad_click_events_clean s
  ON s.advertiser_id = w.advertiser_id
 AND s."timestamp" >= 'epoch'::timestamptz + w.start_ms * interval '1 millisecond'
 AND s."timestamp" <  'epoch'::timestamptz + w.end_ms * interval '1 millisecond'
WHERE s.event_type = 'ad_click'
  AND s.click_id IS NOT NULL
  AND s.gold_window_start IS NOT NULL;
