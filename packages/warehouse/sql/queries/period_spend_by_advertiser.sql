-- name: period_spend_by_advertiser
-- params: $1 period_start_ms bigint, $2 period_end_ms bigint
-- returns: advertiser_id text, advertiser text, net_micros text, gross_micros text, clicks text, budget_micros text, budget_event_ms text, budget_source text, over_cap_micros text, budget_mode text, mode_event_ms text, pacing text, pacing_event_ms text
--
-- Period totals per advertiser from Silver, for the real-time tracker's Redis rebuild: the contributions of the
-- non-duplicate events (ad_click_events_clean; duplicates never add spend) with event time in
-- [period start, period end); clicks = non-duplicate clicks, valid + invalid (the oracle's ServingState.clicks);
-- net = their billable net, over_cap = the rest of hard_cap clicks (the billing clamp, as the writer stored it).
-- Budget in force = gold.budget_in_force over all of the advertiser's observations (supersedesBudget: explicit
-- api/budget_update first, then event time, then lineage), with its source; mode in force = gold.mode_in_force
-- (supersedesMode; NULL when no update set one: observe); pacing in force = gold.pacing_in_force (NULL: asap).
-- Every advertiser with a Gold row or a budget is listed (zero spend when none in the period); the name is the
-- latest Gold row's.
WITH spend AS (
  SELECT s.advertiser_id,
         sum(s.contrib_net_micros) AS net_micros,
         sum(s.contrib_gross_micros) AS gross_micros,
         sum(s.contrib_over_cap_micros) AS over_cap_micros,
         sum(s.contrib_valid_clicks + s.contrib_invalid_clicks) AS clicks
  FROM silver.ad_click_events_clean s
  WHERE s.advertiser_id IS NOT NULL
    AND s."timestamp" >= 'epoch'::timestamptz + $1::bigint * interval '1 millisecond'
    AND s."timestamp" <  'epoch'::timestamptz + $2::bigint * interval '1 millisecond'
    AND s.gold_window_start IS NOT NULL
  GROUP BY s.advertiser_id
),
budget_ids AS (
  SELECT DISTINCT h.advertiser_id FROM gold.budget_history h
)
SELECT ids.advertiser_id,
       coalesce(
         (SELECT g.advertiser FROM gold.advertiser_spend g
          WHERE g.advertiser_id = ids.advertiser_id AND g.advertiser IS NOT NULL
          ORDER BY g.window_start DESC LIMIT 1),
         (SELECT h.advertiser FROM gold.budget_history h
          WHERE h.advertiser_id = ids.advertiser_id AND h.advertiser IS NOT NULL
          ORDER BY h.event_time DESC LIMIT 1),
         ids.advertiser_id) AS advertiser,
       coalesce(s.net_micros, 0)::text AS net_micros,
       coalesce(s.gross_micros, 0)::text AS gross_micros,
       coalesce(s.clicks, 0)::text AS clicks,
       (b.budget_value * 1000000)::bigint::text AS budget_micros,
       (extract(epoch FROM b.event_time) * 1000)::bigint::text AS budget_event_ms,
       b.source AS budget_source,
       coalesce(s.over_cap_micros, 0)::text AS over_cap_micros,
       m.budget_mode,
       (extract(epoch FROM m.event_time) * 1000)::bigint::text AS mode_event_ms,
       pc.pacing,
       (extract(epoch FROM pc.event_time) * 1000)::bigint::text AS pacing_event_ms
FROM (
  SELECT advertiser_id FROM spend
  UNION SELECT advertiser_id FROM budget_ids
  UNION SELECT DISTINCT advertiser_id FROM gold.advertiser_spend
) ids
LEFT JOIN spend s ON s.advertiser_id = ids.advertiser_id
LEFT JOIN LATERAL gold.budget_in_force(ids.advertiser_id, 'infinity'::timestamptz) b ON true
LEFT JOIN LATERAL gold.mode_in_force(ids.advertiser_id, 'infinity'::timestamptz) m ON true
LEFT JOIN LATERAL gold.pacing_in_force(ids.advertiser_id, 'infinity'::timestamptz) pc ON true
ORDER BY ids.advertiser_id;
