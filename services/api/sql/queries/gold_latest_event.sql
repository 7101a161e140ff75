-- name: gold_latest_event
-- Newest event time in Gold, for freshness. last_event_time lies inside its row's window, so the newest
-- event is in the newest window: two index lookups instead of a scan.
-- params: none
SELECT max(g.last_event_time) AS latest_event_time
FROM gold.advertiser_spend g
WHERE g.window_start = (SELECT max(window_start) FROM gold.advertiser_spend)
