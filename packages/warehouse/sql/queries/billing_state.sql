-- name: billing_state
-- params: $1 advertiser_ids text[], $2 period_start_ms bigint[], $3 period_end_ms bigint[], $4 straddles boolean[], $5 sets_mode boolean[] (aligned: one budget period of an advertiser, whether its bounds cut through a Gold hour, whether the batch sets the advertiser's mode), $6 logged_before_ms bigint (NULL: everything stored; else only rows with Kafka record time before it), $7 restart_topics text[], $8 restart_generations integer[], $9 restart_partitions integer[], $10 restart_offsets bigint[] (aligned with advertiser_ids: the record after which the advertiser's own calendar restarted its period; NULL: none)
-- returns: advertiser_id text, period_start_ms text, billable_micros text, budget_micros text, budget_event_ms text, budget_source text, budget_mode text, mode_event_ms text, calendar_settings json (array of [event_ms text, budget_period, time_zone, topic, generation, partition, offset text] in log order)
--
-- What the billing clamp (billableMicros of @adpipe/core) needs before a batch is billed, for every (advertiser,
-- budget period) its clicks fall in, in one statement:
--   billable_micros = the period's billable net so far: net_spend of the advertiser's Gold hours inside the period,
--                     plus, when a period bound cuts through an hour (time zones not on whole hours), the Silver
--                     contributions of that hour with event time inside the period;
--   budget_*        = the budget in force over the stored observations (supersedesBudget: explicit api /
--                     budget_update first, then event time, then lineage; gold.budget_in_force's rule);
--   budget_mode     = the mode in force (supersedesMode; gold.mode_in_force's rule), NULL = none (observe);
--   calendar_settings = the advertiser's explicit calendar settings in log order (few: operators' decisions, the
--                     partial index budget_history_calendar_idx), which the writer folds with foldCalendar of
--                     @adpipe/core to check the calendar it computed the periods with (empty for most).
-- A period given with a restart (an advertiser whose own calendar changed: clickPeriodOf's rule, the period
-- restarts after that record) sums Silver instead of Gold: only the clicks logged after the restart count, as
-- period_spend_windows.sql counts them for the Redis rebuild.
-- An advertiser in observe whose mode the batch does not set bills every click in full whatever its period has
-- billed: its billable_micros is not summed (returned as 0), so the common case costs three index probes.
-- The ingestor passes $6 NULL: what is stored is exactly the log before the batch. Reprocessing a Kafka-time range
-- passes the range's end: rows of later records are still stored and are left out (budgets, modes) or subtracted
-- (their Silver billable, by the (advertiser_id, gold_window_start) index).
WITH wanted AS (
  SELECT w.advertiser_id, w.start_ms, w.straddles, w.sets_mode,
         w.restart_topic, w.restart_generation, w.restart_partition, w.restart_offset,
         'epoch'::timestamptz + w.start_ms * interval '1 millisecond' AS lo,
         'epoch'::timestamptz + w.end_ms * interval '1 millisecond' AS hi
  FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::boolean[], $5::boolean[], $7::text[], $8::integer[],
              $9::integer[], $10::bigint[])
         AS w(advertiser_id, start_ms, end_ms, straddles, sets_mode, restart_topic, restart_generation,
              restart_partition, restart_offset)
),
cutoff AS (
  SELECT coalesce('epoch'::timestamptz + $6::bigint * interval '1 millisecond', 'infinity'::timestamptz) AS logged_before
),
advertisers AS (
  SELECT DISTINCT w.advertiser_id FROM wanted w
),
in_force AS (
  SELECT a.advertiser_id, b.budget_value, b.event_time AS budget_time, b.source, m.budget_mode,
         m.event_time AS mode_time, k.settings AS calendar_settings
  FROM advertisers a
  CROSS JOIN cutoff c
  LEFT JOIN LATERAL (
    SELECT x.budget_value, x.event_time, x.source
    FROM (
      (SELECT h.budget_value, h.event_time, h.source, 1 AS rank
       FROM gold.budget_history h
       WHERE h.advertiser_id = a.advertiser_id AND h.source <> 'click' AND h.kafka_timestamp < c.logged_before
       ORDER BY h.event_time DESC, h.topic DESC, h."partition" DESC, h."offset" DESC
       LIMIT 1)
      UNION ALL
      (SELECT h.budget_value, h.event_time, h.source, 0 AS rank
       FROM gold.budget_history h
       WHERE h.advertiser_id = a.advertiser_id AND h.kafka_timestamp < c.logged_before
       ORDER BY h.event_time DESC, h.topic DESC, h."partition" DESC, h."offset" DESC
       LIMIT 1)
    ) x
    ORDER BY x.rank DESC
    LIMIT 1
  ) b ON true
  LEFT JOIN LATERAL (
    SELECT h.budget_mode, h.event_time
    FROM gold.budget_history h
    WHERE h.advertiser_id = a.advertiser_id AND h.budget_mode IS NOT NULL AND h.kafka_timestamp < c.logged_before
    ORDER BY h.event_time DESC, h.topic DESC, h."partition" DESC, h."offset" DESC
    LIMIT 1
  ) m ON true
  CROSS JOIN LATERAL (
    SELECT coalesce(json_agg(json_build_array(
             (extract(epoch FROM h.event_time) * 1000)::bigint::text, h.budget_period, h.time_zone, h.topic,
             h.topic_generation, h."partition", h."offset"::text)
           ORDER BY h.topic_generation, h.topic, h."partition", h."offset"), '[]'::json) AS settings
    FROM gold.budget_history h
    WHERE h.advertiser_id = a.advertiser_id AND (h.budget_period IS NOT NULL OR h.time_zone IS NOT NULL)
      AND h.kafka_timestamp < c.logged_before
  ) k
),
billable AS (
  SELECT w.advertiser_id, w.start_ms,
         CASE WHEN f.budget_mode IS DISTINCT FROM 'hard_cap' AND NOT w.sets_mode THEN 0
         WHEN w.restart_topic IS NOT NULL THEN coalesce((
             SELECT sum(s.contrib_net_micros)
             FROM silver.ad_click_events_clean s
             WHERE s.advertiser_id = w.advertiser_id
               AND s.gold_window_start > w.lo - interval '1 hour' AND s.gold_window_start < w.hi
               AND s."timestamp" >= w.lo AND s."timestamp" < w.hi
               AND s.kafka_timestamp < c.logged_before
               AND NOT (s.topic = w.restart_topic
                        AND (s.topic_generation < w.restart_generation
                             OR (s.topic_generation = w.restart_generation AND s."partition" = w.restart_partition
                                 AND s."offset" <= w.restart_offset)))), 0)
         ELSE coalesce((SELECT sum(g.net_spend) * 1000000
                   FROM gold.advertiser_spend g
                   WHERE g.advertiser_id = w.advertiser_id
                     AND g.window_start >= w.lo AND g.window_start <= w.hi - interval '1 hour'), 0)
         + CASE WHEN w.straddles THEN coalesce((
             SELECT sum(s.contrib_net_micros)
             FROM silver.ad_click_events_clean s
             WHERE s.advertiser_id = w.advertiser_id
               AND s.gold_window_start > w.lo - interval '1 hour' AND s.gold_window_start < w.hi
               AND (s.gold_window_start < w.lo OR s.gold_window_start > w.hi - interval '1 hour')
               AND s."timestamp" >= w.lo AND s."timestamp" < w.hi), 0)
           ELSE 0 END
         - CASE WHEN c.logged_before < 'infinity'::timestamptz THEN coalesce((
             SELECT sum(s.contrib_net_micros)
             FROM silver.ad_click_events_clean s
             WHERE s.advertiser_id = w.advertiser_id
               AND s.gold_window_start > w.lo - interval '1 hour' AND s.gold_window_start < w.hi
               AND s."timestamp" >= w.lo AND s."timestamp" < w.hi
               AND s.kafka_timestamp >= c.logged_before), 0)
           ELSE 0 END
         END AS billable_micros,
         f.budget_value, f.budget_time, f.source, f.budget_mode, f.mode_time, f.calendar_settings
  FROM wanted w
  CROSS JOIN cutoff c
  JOIN in_force f ON f.advertiser_id = w.advertiser_id
)
SELECT p.advertiser_id,
       p.start_ms::text AS period_start_ms,
       p.billable_micros::bigint::text AS billable_micros,
       (p.budget_value * 1000000)::bigint::text AS budget_micros,
       (extract(epoch FROM p.budget_time) * 1000)::bigint::text AS budget_event_ms,
       p.source AS budget_source,
       p.budget_mode,
       (extract(epoch FROM p.mode_time) * 1000)::bigint::text AS mode_event_ms,
       p.calendar_settings
FROM billable p;
