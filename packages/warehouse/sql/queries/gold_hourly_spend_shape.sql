-- name: gold_hourly_spend_shape
-- params: $1 advertiser_ids text[], $2 from_ms bigint, $3 to_ms bigint (Gold hours starting in [from, to))
-- returns: advertiser_id text, hour_ms text, net_micros text
--
-- The hourly net spend of the given advertisers from Gold (UTC hours, event time), for shaped pacing's traffic
-- shape (trafficShapeOf in @adpipe/core buckets the hours by the advertiser's local hour of day). One query for
-- every shaped advertiser of a refresh; the primary key (advertiser_id, window_start) answers it.
SELECT g.advertiser_id,
       ((extract(epoch FROM g.window_start) * 1000)::bigint)::text AS hour_ms,
       round(g.net_spend * 1000000)::bigint::text AS net_micros
FROM gold.advertiser_spend g
WHERE g.advertiser_id = ANY($1::text[])
  AND g.window_start >= 'epoch'::timestamptz + $2::bigint * interval '1 millisecond'
  AND g.window_start < 'epoch'::timestamptz + $3::bigint * interval '1 millisecond'
ORDER BY g.advertiser_id, g.window_start;
