-- name: gold_reevaluate_serving
-- params: $1 advertiser_ids text[], $2 from_ms bigint[] (aligned: re-evaluate that advertiser's rows with window_end > from), $3 budget_period text ('hour' | 'day' | 'month' | 'lifetime'), $4 time_zone text
-- returns: updated integer (rows whose budget_value / budget_source / can_serve / period_net_spend changed)
--
-- Re-evaluates budget_value and can_serve, at window_end, of every Gold row a batch can have changed: a click
-- changes its own hour and the later hours of its budget period (period-to-date net spend); a budget observation
-- changes every later hour (budget in force). Rules of @adpipe/core (decideServing, budgetObservation):
--   period_net_spend = sum of net_spend over the advertiser's rows of the same budget period up to this window;
--   budget in force  = gold.budget_in_force(advertiser, window_end): supersedesBudget over the observations with
--                      event_time < window_end (explicit api/budget_update first, then event time, then lineage);
--   can_serve        = budget in force > 0 and period_net_spend < budget; reason no_budget / budget_exhausted.
-- Set-based: one statement for any number of advertisers and rows.
WITH affected AS (
  SELECT a.advertiser_id, min('epoch'::timestamptz + a.from_ms * interval '1 millisecond') AS from_ts
  FROM unnest($1::text[], $2::bigint[]) AS a(advertiser_id, from_ms)
  GROUP BY a.advertiser_id
),
period_rows AS (
  -- Every row needed for the period-to-date sums: from the start of the earliest affected period. One index
  -- range scan per advertiser (OFFSET 0 keeps the planner from flattening it into a scan of all of Gold, whose
  -- cost would grow with the table and be paid by every batch, however small).
  SELECT a.advertiser_id, g.window_start, g.window_end, a.from_ts,
         sum(g.net_spend) OVER (
           PARTITION BY a.advertiser_id, ingest.budget_period_start(g.window_start, $3::text, $4::text)
           ORDER BY g.window_start
         ) AS period_net
  FROM affected a
  CROSS JOIN LATERAL (
    SELECT s.window_start, s.window_end, s.net_spend
    FROM gold.advertiser_spend s
    WHERE s.advertiser_id = a.advertiser_id
      AND s.window_start >= ingest.budget_period_start(a.from_ts, $3::text, $4::text)
    OFFSET 0
  ) g
),
evaluated AS (
  SELECT p.advertiser_id, p.window_start, p.period_net, b.budget_value, b.event_time AS budget_event_time,
         b.source AS budget_source
  FROM period_rows p
  LEFT JOIN LATERAL gold.budget_in_force(p.advertiser_id, p.window_end) b ON true
  WHERE p.window_end > p.from_ts
),
decided AS (
  SELECT e.*,
         CASE
           WHEN e.budget_value IS NULL OR e.budget_value = 0 THEN 'no_budget'
           WHEN e.period_net < e.budget_value THEN NULL
           ELSE 'budget_exhausted'
         END AS reason
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
