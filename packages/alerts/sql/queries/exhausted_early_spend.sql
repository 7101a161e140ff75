-- name: exhausted_early_spend
-- params: $1 advertiser_ids text[], $2 period_ids text[], $3 period_start_ms bigint[], $4 cutoff_ms bigint[],
--         $5 restart_topics text[], $6 restart_generations integer[], $7 restart_partitions integer[],
--         $8 restart_offsets bigint[] (aligned per advertiser; restart NULL = count from the period start)
-- returns: advertiser_id text, time_ms text, net_micros text
--
-- The click log exhausted_early is judged on (exhaustedEarlyInLog of @adpipe/core): per advertiser, its own
-- budget period (the service-wide one, or that of the calendar it set) and event time (ms) in [period start,
-- cutoff), the billable net of the non-duplicate events of Silver, as period_spend_by_advertiser and
-- period_spend_windows count them: for an advertiser whose calendar changed, only the clicks logged after the
-- record that last changed it (clickPeriodOf: a change restarts the period). The cutoff is 80 % of the period: a
-- click at or after it cannot forecast exhaustion before it. Advertisers whose exhausted_early alert already
-- fired in their period are left out.
WITH w AS (
  SELECT *
  FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::integer[], $7::integer[],
              $8::bigint[])
    AS w(advertiser_id, period_id, start_ms, cutoff_ms, restart_topic, restart_generation, restart_partition,
         restart_offset)
)
SELECT s.advertiser_id,
       floor(extract(epoch FROM s."timestamp") * 1000)::bigint::text AS time_ms,
       sum(s.contrib_net_micros)::text AS net_micros
FROM w
JOIN silver.ad_click_events_clean s
  ON s.advertiser_id = w.advertiser_id
 AND s."timestamp" >= 'epoch'::timestamptz + w.start_ms * interval '1 millisecond'
 AND s."timestamp" <  'epoch'::timestamptz + w.cutoff_ms * interval '1 millisecond'
 AND s.gold_window_start IS NOT NULL
 AND NOT (w.restart_topic IS NOT NULL AND s.topic = w.restart_topic
          AND (s.topic_generation < w.restart_generation
               OR (s.topic_generation = w.restart_generation AND s."partition" = w.restart_partition
                   AND s."offset" <= w.restart_offset)))
WHERE NOT EXISTS (
  SELECT 1 FROM alerts.fired f
  WHERE f.advertiser_id = w.advertiser_id AND f.period_id = w.period_id AND f.kind = 'exhausted_early'
)
GROUP BY 1, 2
ORDER BY 1, 2;
