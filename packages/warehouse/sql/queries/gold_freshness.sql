-- name: gold_freshness
-- params: none
-- returns: newest_event timestamptz (newest last_event_time not after now, NULL when none),
--          future_rows text, future_advertisers text (bigint as text), future_newest timestamptz, db_now timestamptz
--
-- Gold freshness is measured from the newest event that is not dated in the future: a producer whose clock or
-- time zone is wrong must not make the pipeline look fresher than it is (or negative). Rows whose newest event
-- lies ahead of now are reported separately. last_event_time lies inside its row's hour window, so both parts
-- are index range scans on window_start (the first one stops at the newest window with a non-future event).
SELECT
  (SELECT g.last_event_time
   FROM gold.advertiser_spend g
   WHERE g.window_start <= now() AND g.last_event_time <= now()
   ORDER BY g.window_start DESC, g.last_event_time DESC
   LIMIT 1) AS newest_event,
  count(*)::text AS future_rows,
  count(DISTINCT f.advertiser_id)::text AS future_advertisers,
  max(f.last_event_time) AS future_newest,
  now() AS db_now
FROM gold.advertiser_spend f
WHERE f.window_start > now() - interval '1 hour' AND f.last_event_time > now();
