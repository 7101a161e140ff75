-- version: 0012
-- previous: 0011
-- name: budget_sources
--
-- Budget precedence: where every budget observation came from, and the budget in force chosen by the
-- rule of supersedesBudget in @adpipe/core (docs/core.md, "Budget precedence"):
--   * an explicit budget outranks any budget_value carried on a click, whatever their event times. Explicit =
--     source 'api' (a budget_update the HTTP API published, "budget_source": "api" on the event) or
--     'budget_update' (any other budget_update event); 'click' = budget_value on a click;
--   * within a rank the later event time wins; on equal event times the later lineage (partition order).
-- Until now the latest observation by event time won, so the next click carrying its own budget_value undid an
-- operator's change.
--
-- Observations recorded before this migration become 'click' (from an ad_click) or 'budget_update': their events
-- carry no budget_source, so reprocessing them from Bronze gives the same answer. Gold's budget columns are
-- re-evaluated under the new rule at the end (period_net_spend does not depend on it).

ALTER TABLE gold.budget_history ADD COLUMN source text;
UPDATE gold.budget_history
SET source = CASE WHEN event_type = 'ad_click' THEN 'click' ELSE 'budget_update' END;
ALTER TABLE gold.budget_history
  ALTER COLUMN source SET NOT NULL,
  ADD CONSTRAINT budget_history_source_check CHECK (source IN ('api', 'budget_update', 'click'));
COMMENT ON COLUMN gold.budget_history.source IS
  'api | budget_update (explicit budgets) | click (budget_value on a click; in force only while no explicit one is).';

-- Explicit budgets are few (operators' changes), click-carried observations can be one per click: this partial
-- index answers "latest explicit budget before t" with one probe; the primary key answers "latest of any source".
CREATE INDEX budget_history_explicit_idx
  ON gold.budget_history (advertiser_id, event_time, topic, "partition", "offset")
  WHERE source <> 'click';

ALTER TABLE gold.advertiser_spend
  ADD COLUMN budget_source text CHECK (budget_source IN ('api', 'budget_update', 'click'));
COMMENT ON COLUMN gold.advertiser_spend.budget_source IS
  'Where budget_value (the budget in force at window_end) came from: api, budget_update or click; NULL without a budget.';

-- The budget in force just before an instant: observations with event_time < p_before (pass 'infinity' for all
-- of them, t + 1 microsecond for "at t inclusive"). The latest explicit one, else the latest of any source (then
-- necessarily click-carried); ties on event time go to the later lineage. One row, or none without a budget.
-- A single-SELECT SQL function, so the planner inlines it into the calling query (two index probes).
CREATE FUNCTION gold.budget_in_force(p_advertiser_id text, p_before timestamptz)
RETURNS TABLE (budget_value numeric(20, 6), event_time timestamptz, source text)
LANGUAGE sql STABLE
AS $$
  SELECT c.budget_value, c.event_time, c.source
  FROM (
    (SELECT h.budget_value, h.event_time, h.source, 1 AS rank
     FROM gold.budget_history h
     WHERE h.advertiser_id = p_advertiser_id AND h.source <> 'click' AND h.event_time < p_before
     ORDER BY h.event_time DESC, h.topic DESC, h."partition" DESC, h."offset" DESC
     LIMIT 1)
    UNION ALL
    (SELECT h.budget_value, h.event_time, h.source, 0 AS rank
     FROM gold.budget_history h
     WHERE h.advertiser_id = p_advertiser_id AND h.event_time < p_before
     ORDER BY h.event_time DESC, h.topic DESC, h."partition" DESC, h."offset" DESC
     LIMIT 1)
  ) c
  ORDER BY c.rank DESC
  LIMIT 1
$$;
GRANT EXECUTE ON FUNCTION gold.budget_in_force(text, timestamptz) TO adpipe_reader, adpipe_writer;

-- The time-weighted average of the budget in force during each Gold hour, by the precedence rule: the budget in
-- force at window_start (inclusive), then every observation inside the hour that can change it. Before the
-- advertiser's first explicit budget every observation can (they are all click-carried); from it on only
-- explicit ones can. Time with no budget in force is left out; NULL when no budget was in force during the hour.
CREATE OR REPLACE VIEW gold.hourly_average_budget AS
SELECT coalesce(g.advertiser, g.advertiser_id) AS advertiser,
       g.spend_hour,
       w.avg_budget
FROM gold.advertiser_spend g
CROSS JOIN LATERAL (
  SELECT min(e.event_time) AS at
  FROM gold.budget_history e
  WHERE e.advertiser_id = g.advertiser_id AND e.source <> 'click'
) first_explicit
CROSS JOIN LATERAL (
  SELECT round(
           sum(s.budget_value * s.duration_ms) / nullif(sum(s.duration_ms) FILTER (WHERE s.budget_value IS NOT NULL), 0),
           6)::numeric(20, 6) AS avg_budget
  FROM (
    SELECT p.budget_value,
           extract(epoch FROM (lead(p.at, 1, g.window_end) OVER (ORDER BY p.at, p.seq) - p.at)) * 1000 AS duration_ms
    FROM (
      SELECT g.window_start AS at, 0::bigint AS seq,
             (SELECT f.budget_value FROM gold.budget_in_force(g.advertiser_id, g.window_start + interval '1 microsecond') f)
               AS budget_value
      UNION ALL
      SELECT b.event_time, row_number() OVER (ORDER BY b.event_time, b.topic, b."partition", b."offset"), b.budget_value
      FROM gold.budget_history b
      WHERE b.advertiser_id = g.advertiser_id AND b.event_time > g.window_start AND b.event_time < g.window_end
        AND (b.source <> 'click' OR first_explicit.at IS NULL OR b.event_time < first_explicit.at)
    ) p
  ) s
) w;

-- Gold rows written under the old rule: their budget, its source and can_serve by the new one.
WITH evaluated AS (
  SELECT g.advertiser_id, g.window_start, b.budget_value, b.event_time, b.source,
         CASE
           WHEN b.budget_value IS NULL OR b.budget_value = 0 THEN 'no_budget'
           WHEN g.period_net_spend < b.budget_value THEN NULL
           ELSE 'budget_exhausted'
         END AS reason
  FROM gold.advertiser_spend g
  LEFT JOIN LATERAL gold.budget_in_force(g.advertiser_id, g.window_end) b ON true
)
UPDATE gold.advertiser_spend g
SET budget_value = e.budget_value,
    budget_event_time = e.event_time,
    budget_source = e.source,
    can_serve = e.reason IS NULL,
    serving_reason = e.reason,
    updated_at = now()
FROM evaluated e
WHERE g.advertiser_id = e.advertiser_id AND g.window_start = e.window_start
  AND (g.budget_value IS DISTINCT FROM e.budget_value
    OR g.budget_event_time IS DISTINCT FROM e.event_time
    OR g.budget_source IS DISTINCT FROM e.source
    OR g.can_serve IS DISTINCT FROM (e.reason IS NULL)
    OR g.serving_reason IS DISTINCT FROM e.reason);
