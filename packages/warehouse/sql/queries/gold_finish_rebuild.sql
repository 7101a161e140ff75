-- name: gold_finish_rebuild
-- params: $1 advertiser_ids text[], $2 window_ms bigint[] (aligned: Gold keys whose sums a rebuild changed)
-- returns: deleted integer, refreshed integer
--
-- After a rebuild: deletes the given Gold rows that no Silver row contributes to any more (all counts 0), and
-- recomputes last_event_time (a maximum, which subtraction cannot maintain) of the others from Silver.
WITH keys AS (
  SELECT DISTINCT k.advertiser_id, 'epoch'::timestamptz + k.window_ms * interval '1 millisecond' AS window_start
  FROM unnest($1::text[], $2::bigint[]) AS k(advertiser_id, window_ms)
),
emptied AS (
  DELETE FROM gold.advertiser_spend g
  USING keys k
  WHERE g.advertiser_id = k.advertiser_id AND g.window_start = k.window_start
    AND g.record_count = 0 AND g.duplicate_clicks = 0 AND g.valid_clicks = 0 AND g.invalid_clicks = 0
  RETURNING 1
),
newest AS (
  SELECT k.advertiser_id, k.window_start,
         greatest(
           (SELECT max(s."timestamp") FROM silver.ad_click_events_clean s
            WHERE s.advertiser_id = k.advertiser_id AND s.gold_window_start = k.window_start),
           (SELECT max(d."timestamp") FROM silver.duplicate_clicks d
            WHERE d.advertiser_id = k.advertiser_id AND d.gold_window_start = k.window_start)
         ) AS last_event_time
  FROM keys k
),
refreshed AS (
  UPDATE gold.advertiser_spend g
  SET last_event_time = n.last_event_time
  FROM newest n
  WHERE g.advertiser_id = n.advertiser_id AND g.window_start = n.window_start
    AND NOT (g.record_count = 0 AND g.duplicate_clicks = 0 AND g.valid_clicks = 0 AND g.invalid_clicks = 0)
    AND g.last_event_time IS DISTINCT FROM n.last_event_time
  RETURNING 1
)
SELECT (SELECT count(*) FROM emptied)::integer AS deleted, (SELECT count(*) FROM refreshed)::integer AS refreshed;
