-- name: period_spend_windows
-- params: $1 advertiser_ids text[], $2 start_ms bigint[], $3 end_ms bigint[], $4 restart_topics text[], $5 restart_generations integer[], $6 restart_partitions integer[], $7 restart_offsets bigint[] (aligned per advertiser; restart NULL = count from the start)
-- returns: advertiser_id text, net_micros text, gross_micros text, over_cap_micros text, clicks text
--
-- period_spend_by_advertiser's totals for advertisers with a calendar of their own: each advertiser's period
-- window [start, end) of its calendar in force, counting only the clicks logged after the record that last changed
-- that calendar (clickPeriodOf of @adpipe/core: a change restarts the period; the clicks of that record's partition
-- at or below its offset, and those of the topic's earlier generations, were counted under the old calendar).
-- Every listed advertiser gets a row.
WITH w AS (
  SELECT *
  FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::integer[], $6::integer[], $7::bigint[])
    AS w(advertiser_id, start_ms, end_ms, restart_topic, restart_generation, restart_partition, restart_offset)
)
SELECT w.advertiser_id,
       coalesce(sum(s.contrib_net_micros), 0)::text AS net_micros,
       coalesce(sum(s.contrib_gross_micros), 0)::text AS gross_micros,
       coalesce(sum(s.contrib_over_cap_micros), 0)::text AS over_cap_micros,
       coalesce(sum(s.contrib_valid_clicks + s.contrib_invalid_clicks), 0)::text AS clicks
FROM w
LEFT JOIN silver.ad_click_events_clean s
  ON s.advertiser_id = w.advertiser_id
 AND s.gold_window_start IS NOT NULL
 AND s."timestamp" >= 'epoch'::timestamptz + w.start_ms * interval '1 millisecond'
 AND s."timestamp" <  'epoch'::timestamptz + w.end_ms * interval '1 millisecond'
 AND NOT (w.restart_topic IS NOT NULL AND s.topic = w.restart_topic
          AND (s.topic_generation < w.restart_generation
               OR (s.topic_generation = w.restart_generation AND s."partition" = w.restart_partition
                   AND s."offset" <= w.restart_offset)))
GROUP BY w.advertiser_id;
