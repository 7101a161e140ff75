-- name: gold_reevaluate_serving
-- params: $1 advertiser_ids text[], $2 from_ms bigint[] (aligned: re-evaluate that advertiser's rows with window_end > from), $3 budget_period text ('hour' | 'day' | 'month' | 'lifetime'), $4 time_zone text
-- returns: updated integer (rows whose budget_value / budget_source / can_serve / period_net_spend changed)
--
-- Re-evaluates budget_value and can_serve, at window_end, of every Gold row a batch can have changed: a click
-- changes its own hour and the later hours of its budget period (period-to-date net spend); a budget observation
-- changes every later hour (budget in force). Rules of @adpipe/core (decideServing, budgetObservation):
--   period_net_spend = the billable net with event time in [period start, min(window_end, period end)), the
--                      period being the one containing window_start (period-to-date, by event time): net_spend
--                      of the advertiser's hours inside it, plus, where a period bound cuts through an hour (zones
--                      off whole hours: Kolkata, Kathmandu), Silver's contributions of that hour inside it;
--   budget in force  = gold.budget_in_force(advertiser, window_end): supersedesBudget over the observations with
--                      event_time < window_end (explicit api/budget_update first, then event time, then lineage);
--   can_serve        = budget in force > 0 and period_net_spend < budget: gold.serving_reason (migration 0022)
--                      gives the reason no_budget / budget_exhausted, NULL when the row may be served.
-- Set-based: one statement for any number of advertisers and rows.
WITH affected AS (
  SELECT a.advertiser_id, min('epoch'::timestamptz + a.from_ms * interval '1 millisecond') AS from_ts
  FROM unnest($1::text[], $2::bigint[]) AS a(advertiser_id, from_ms)
  GROUP BY a.advertiser_id
),
period_rows AS (
  -- Every row needed for the period-to-date sums: from the start of the earliest affected period. One index
  -- range scan per advertiser (OFFSET 0 keeps the planner from flattening it into a scan of all of Gold, whose
  -- cost would grow with the table and be paid by every batch, however small). lo: the row's period; last_lo:
  -- the period of its last instant, later than lo when a period bound cuts through the hour. The running sum
  -- takes whole hours only: a cut hour counts through Silver below.
  SELECT a.advertiser_id, g.window_start, g.window_end, a.from_ts, g.lo, g.last_lo,
         sum(CASE WHEN g.last_lo = g.lo THEN g.net_spend ELSE 0 END) OVER (
           PARTITION BY a.advertiser_id, g.lo
           ORDER BY g.window_start
         ) AS whole_hours_net
  FROM affected a
  CROSS JOIN LATERAL (
    SELECT s.window_start, s.window_end, s.net_spend,
           ingest.budget_period_start(s.window_start, $3::text, $4::text) AS lo,
           ingest.budget_period_start(s.window_end - interval '1 microsecond', $3::text, $4::text) AS last_lo
    FROM gold.advertiser_spend s
    WHERE s.advertiser_id = a.advertiser_id
      AND s.window_start >= ingest.budget_period_start(a.from_ts, $3::text, $4::text)
    OFFSET 0
  ) g
),
evaluated AS (
  -- Zones on whole hours never cut an hour: both CASEs are false and no Silver is read. Otherwise the hour
  -- the period starts in counts from the period start, and this row, when its period ends inside it, up to
  -- that end (one (advertiser_id, gold_window_start) index probe each).
  SELECT p.advertiser_id, p.window_start,
         (p.whole_hours_net
          + CASE WHEN p.lo > date_trunc('hour', p.lo, 'UTC') THEN coalesce((
              SELECT sum(s.contrib_net_micros)
              FROM silver.ad_click_events_clean s
              WHERE s.advertiser_id = p.advertiser_id AND s.gold_window_start = date_trunc('hour', p.lo, 'UTC')
                AND s."timestamp" >= p.lo), 0)::numeric / 1000000
            ELSE 0 END
          + CASE WHEN p.last_lo > p.lo THEN coalesce((
              SELECT sum(s.contrib_net_micros)
              FROM silver.ad_click_events_clean s
              WHERE s.advertiser_id = p.advertiser_id AND s.gold_window_start = p.window_start
                AND s."timestamp" < p.last_lo), 0)::numeric / 1000000
            ELSE 0 END)::numeric(20, 6) AS period_net,
         b.budget_value, b.event_time AS budget_event_time, b.source AS budget_source
  FROM period_rows p
  LEFT JOIN LATERAL gold.budget_in_force(p.advertiser_id, p.window_end) b ON true
  WHERE p.window_end > p.from_ts
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
