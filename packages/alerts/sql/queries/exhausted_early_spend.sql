-- name: exhausted_early_spend
-- params: $1 period_id text, $2 period_start_ms bigint, $3 cutoff_ms bigint, $4 advertiser_ids text[]
-- returns: advertiser_id text, time_ms text, net_micros text
--
-- The click log exhausted_early is judged on (exhaustedEarlyInLog of @adpipe/core): per advertiser of $4 and
-- event time (ms) in [period start, cutoff), the billable net of the non-duplicate events of Silver, as
-- period_spend_by_advertiser counts them. The cutoff is 80 % of the period: a click at or after it cannot
-- forecast exhaustion before it. Advertisers whose exhausted_early alert already fired in the period are left out.
SELECT s.advertiser_id,
       floor(extract(epoch FROM s."timestamp") * 1000)::bigint::text AS time_ms,
       sum(s.contrib_net_micros)::text AS net_micros
FROM silver.ad_click_events_clean s
WHERE s.advertiser_id = ANY($4::text[])
  AND s."timestamp" >= 'epoch'::timestamptz + $2::bigint * interval '1 millisecond'
  AND s."timestamp" <  'epoch'::timestamptz + $3::bigint * interval '1 millisecond'
  AND s.gold_window_start IS NOT NULL
  AND NOT EXISTS (
    SELECT 1 FROM alerts.fired f
    WHERE f.advertiser_id = s.advertiser_id AND f.period_id = $1::text AND f.kind = 'exhausted_early'
  )
GROUP BY 1, 2
ORDER BY 1, 2;
