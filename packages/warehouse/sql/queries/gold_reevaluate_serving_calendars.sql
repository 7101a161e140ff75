-- name: gold_reevaluate_serving_calendars
-- params: $1 advertiser_ids text[], $2 from_ms bigint[] (aligned: re-evaluate that advertiser's rows with window_end > from), $3 epoch_advertiser_ids text[], $4 epoch_indexes integer[], $5 epoch_topics text[], $6 epoch_generations integer[], $7 epoch_partitions integer[], $8 epoch_offsets bigint[], $9 epoch_periods text[], $10 epoch_time_zones text[] (aligned: every calendar epoch of those advertisers, calendarEpochs of @adpipe/core; index 0 = the service-wide calendar from the beginning of the log, NULL start; epoch k starts after the record topic / generation / partition / offset)
-- returns: updated integer (rows whose budget_value / budget_source / can_serve / period_net_spend changed)
--
-- gold_reevaluate_serving for advertisers whose own calendar changed (budget_period / time_zone): the rule of
-- goldRowPeriodNet in @adpipe/core. A Gold hour belongs to the epoch of its last record (the latest epoch with a
-- Silver record of the hour logged after its restart record: billing_state.sql's "logged after" rule), and to
-- that epoch's calendar's period containing window_start; period_net_spend = the Silver contributions logged in
-- that epoch (after its restart record, not after the next one) with event time in
-- [period start, min(window_end, period end)): period-to-date, as for service-wide advertisers. Silver sums,
-- not Gold hours: a half-hour zone's period bound cuts through an hour. Budget in force and can_serve as in
-- gold_reevaluate_serving.sql.
WITH affected AS (
  SELECT a.advertiser_id, min('epoch'::timestamptz + a.from_ms * interval '1 millisecond') AS from_ts
  FROM unnest($1::text[], $2::bigint[]) AS a(advertiser_id, from_ms)
  GROUP BY a.advertiser_id
),
epochs AS (
  SELECT e.advertiser_id, e.epoch, e.topic, e.generation, e."partition", e."offset", e.budget_period, e.time_zone
  FROM unnest($3::text[], $4::integer[], $5::text[], $6::integer[], $7::integer[], $8::bigint[], $9::text[],
              $10::text[])
         AS e(advertiser_id, epoch, topic, generation, "partition", "offset", budget_period, time_zone)
),
hours AS (
  SELECT a.advertiser_id, g.window_start, g.window_end
  FROM affected a
  CROSS JOIN LATERAL (
    SELECT s.window_start, s.window_end
    FROM gold.advertiser_spend s
    WHERE s.advertiser_id = a.advertiser_id AND s.window_start > a.from_ts - interval '1 hour'
    OFFSET 0
  ) g
),
hour_epochs AS (
  SELECT h.advertiser_id, h.window_start, h.window_end,
         (SELECT max(e.epoch)
          FROM epochs e
          WHERE e.advertiser_id = h.advertiser_id
            AND (e.topic IS NULL OR EXISTS (
              SELECT 1
              FROM silver.ad_click_events_clean s
              WHERE s.advertiser_id = h.advertiser_id AND s.gold_window_start = h.window_start
                AND NOT (s.topic = e.topic
                         AND (s.topic_generation < e.generation
                              OR (s.topic_generation = e.generation AND s."partition" = e."partition"
                                  AND s."offset" <= e."offset")))))) AS epoch
  FROM hours h
),
periods AS (
  SELECT x.*,
         CASE WHEN x.last_lo > x.lo THEN x.last_lo ELSE x.window_end END AS hi
  FROM (
    SELECT h.advertiser_id, h.window_start, h.window_end,
           e.topic, e.generation, e."partition", e."offset",
           n.topic AS next_topic, n.generation AS next_generation, n."partition" AS next_partition,
           n."offset" AS next_offset,
           ingest.budget_period_start(h.window_start, e.budget_period, e.time_zone) AS lo,
           ingest.budget_period_start(h.window_end - interval '1 microsecond', e.budget_period, e.time_zone)
             AS last_lo
    FROM hour_epochs h
    JOIN epochs e ON e.advertiser_id = h.advertiser_id AND e.epoch = h.epoch
    LEFT JOIN epochs n ON n.advertiser_id = h.advertiser_id AND n.epoch = h.epoch + 1
  ) x
),
evaluated AS (
  SELECT p.advertiser_id, p.window_start,
         (coalesce((
           SELECT sum(s.contrib_net_micros)
           FROM silver.ad_click_events_clean s
           WHERE s.advertiser_id = p.advertiser_id
             AND s.gold_window_start > p.lo - interval '1 hour' AND s.gold_window_start < p.hi
             AND s."timestamp" >= p.lo AND s."timestamp" < p.hi
             AND (p.topic IS NULL
                  OR NOT (s.topic = p.topic
                          AND (s.topic_generation < p.generation
                               OR (s.topic_generation = p.generation AND s."partition" = p."partition"
                                   AND s."offset" <= p."offset"))))
             AND (p.next_topic IS NULL
                  OR (s.topic = p.next_topic
                      AND (s.topic_generation < p.next_generation
                           OR (s.topic_generation = p.next_generation AND s."partition" = p.next_partition
                               AND s."offset" <= p.next_offset))))), 0)::numeric / 1000000)::numeric(20, 6)
           AS period_net,
         b.budget_value, b.event_time AS budget_event_time, b.source AS budget_source
  FROM periods p
  LEFT JOIN LATERAL gold.budget_in_force(p.advertiser_id, p.window_end) b ON true
),
decided AS (
  SELECT e.*, gold.serving_reason(e.budget_value, e.period_net) AS reason
  FROM evaluated e
),
updated AS (
  UPDATE gold.advertiser_spend g
  SET budget_value = d.budget_value,
      budget_event_time = d.budget_event_time,
      budget_source = d.budget_source,
      period_net_spend = d.period_net,
      can_serve = d.reason IS NULL,
      serving_reason = d.reason,
      updated_at = now()
  FROM decided d
  WHERE g.advertiser_id = d.advertiser_id AND g.window_start = d.window_start
    AND (g.budget_value IS DISTINCT FROM d.budget_value
      OR g.budget_event_time IS DISTINCT FROM d.budget_event_time
      OR g.budget_source IS DISTINCT FROM d.budget_source
      OR g.period_net_spend IS DISTINCT FROM d.period_net
      OR g.can_serve IS DISTINCT FROM (d.reason IS NULL)
      OR g.serving_reason IS DISTINCT FROM d.reason)
  RETURNING 1
)
SELECT count(*)::integer AS updated FROM updated;
