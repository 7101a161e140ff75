-- version: 0007
-- previous: 0006
-- name: gold_views
--
-- The seed's eight dashboard views, with the seed's column names (see docs/warehouse.md for definitions).
-- Grouping is by the budget key advertiser_id; the `advertiser` column shows the group's display name: the
-- non-null advertiser of its latest window (window_start order), else the advertiser_id. This matches the
-- roll-ups of @adpipe/core (views.ts). Amounts are NUMERIC(20,6); times timestamptz (UTC buckets).
-- "Latest row" of a group = its Gold row with the greatest window_start.

-- Gold rows as they are: one per advertiser and hour.
CREATE VIEW gold.hourly_spend AS
SELECT coalesce(g.advertiser, g.advertiser_id) AS advertiser,
       g.window_start AS spend_hour_start,
       g.window_end   AS spend_hour_end,
       g.gross_spend  AS hourly_gross_spend,
       g.net_spend    AS hourly_net_spend
FROM gold.advertiser_spend g;

-- Sums per advertiser and UTC day.
CREATE VIEW gold.daily_spend AS
SELECT coalesce((array_agg(g.advertiser ORDER BY g.window_start DESC) FILTER (WHERE g.advertiser IS NOT NULL))[1],
                g.advertiser_id) AS advertiser,
       g.spend_day,
       sum(g.gross_spend)::numeric(20, 6) AS daily_gross_spend,
       sum(g.net_spend)::numeric(20, 6)   AS daily_net_spend
FROM gold.advertiser_spend g
GROUP BY g.advertiser_id, g.spend_day;

-- Sums per advertiser and UTC month; total_clicks = sum of record_count (non-duplicate clicks, valid + invalid);
-- budget_value / can_serve_status of the month's latest row.
CREATE VIEW gold.monthly_spend AS
SELECT coalesce((array_agg(g.advertiser ORDER BY g.window_start DESC) FILTER (WHERE g.advertiser IS NOT NULL))[1],
                g.advertiser_id) AS advertiser,
       g.spend_month,
       sum(g.gross_spend)::numeric(20, 6) AS monthly_gross_spend,
       sum(g.net_spend)::numeric(20, 6)   AS monthly_net_spend,
       sum(g.record_count)::bigint        AS total_clicks,
       (array_agg(g.budget_value ORDER BY g.window_start DESC))[1] AS budget_value,
       (array_agg(g.can_serve ORDER BY g.window_start DESC))[1]    AS can_serve_status
FROM gold.advertiser_spend g
GROUP BY g.advertiser_id, g.spend_month;

-- All-time totals per advertiser; budget and serving status of its latest row; newest contributing event time.
CREATE VIEW gold.aggregated_advertiser_spend AS
SELECT coalesce((array_agg(g.advertiser ORDER BY g.window_start DESC) FILTER (WHERE g.advertiser IS NOT NULL))[1],
                g.advertiser_id) AS advertiser,
       sum(g.gross_spend)::numeric(20, 6) AS total_gross_spend,
       sum(g.net_spend)::numeric(20, 6)   AS total_net_spend,
       sum(g.record_count)::bigint        AS total_clicks,
       (array_agg(g.budget_value ORDER BY g.window_start DESC))[1] AS latest_budget_value,
       max(g.last_event_time) AS latest_activity_time,
       (array_agg(g.can_serve ORDER BY g.window_start DESC))[1]    AS current_serving_status
FROM gold.advertiser_spend g
GROUP BY g.advertiser_id;

-- The latest hour of each advertiser and its can_serve.
CREATE VIEW gold.latest_serving_status AS
SELECT coalesce((array_agg(g.advertiser ORDER BY g.window_start DESC) FILTER (WHERE g.advertiser IS NOT NULL))[1],
                g.advertiser_id) AS advertiser,
       max(g.window_start) AS latest_hour,
       (array_agg(g.can_serve ORDER BY g.window_start DESC))[1] AS latest_can_serve
FROM gold.advertiser_spend g
GROUP BY g.advertiser_id;

-- Per advertiser, the latest hour whose budget_value differs from the advertiser's previous Gold row
-- (its first row with a budget counts as a change), with that budget. Advertisers without any budget are absent.
CREATE VIEW gold.latest_changed_budgets AS
WITH marked AS (
  SELECT g.advertiser_id, g.advertiser, g.window_start, g.budget_value,
         g.budget_value IS DISTINCT FROM lag(g.budget_value) OVER (PARTITION BY g.advertiser_id ORDER BY g.window_start)
           AS changed
  FROM gold.advertiser_spend g
),
names AS (
  SELECT m.advertiser_id,
         coalesce((array_agg(m.advertiser ORDER BY m.window_start DESC) FILTER (WHERE m.advertiser IS NOT NULL))[1],
                  m.advertiser_id) AS advertiser
  FROM marked m
  GROUP BY m.advertiser_id
)
SELECT DISTINCT ON (m.advertiser_id)
       n.advertiser,
       m.window_start AS spend_hour,
       m.budget_value
FROM marked m
JOIN names n ON n.advertiser_id = m.advertiser_id
WHERE m.changed AND m.budget_value IS NOT NULL
ORDER BY m.advertiser_id, m.window_start DESC;

-- Time-weighted average of the budget in force during each Gold hour [window_start, window_end): the budget in
-- force at window_start (latest observation with event_time <= window_start), then each observation inside the
-- hour from its event time on (equal times: the later lineage wins). Time with no budget in force is left out;
-- NULL when no budget was in force during the hour. Rounded to 6 decimals (half away from zero).
CREATE VIEW gold.hourly_average_budget AS
SELECT coalesce(g.advertiser, g.advertiser_id) AS advertiser,
       g.spend_hour,
       w.avg_budget
FROM gold.advertiser_spend g
CROSS JOIN LATERAL (
  SELECT round(
           sum(s.budget_value * s.duration_ms) / nullif(sum(s.duration_ms) FILTER (WHERE s.budget_value IS NOT NULL), 0),
           6)::numeric(20, 6) AS avg_budget
  FROM (
    SELECT p.budget_value,
           extract(epoch FROM (lead(p.at, 1, g.window_end) OVER (ORDER BY p.at, p.seq) - p.at)) * 1000 AS duration_ms
    FROM (
      SELECT g.window_start AS at, 0::bigint AS seq,
             (SELECT b.budget_value FROM gold.budget_history b
              WHERE b.advertiser_id = g.advertiser_id AND b.event_time <= g.window_start
              ORDER BY b.event_time DESC, b.topic DESC, b."partition" DESC, b."offset" DESC
              LIMIT 1) AS budget_value
      UNION ALL
      SELECT b.event_time, row_number() OVER (ORDER BY b.event_time, b.topic, b."partition", b."offset"), b.budget_value
      FROM gold.budget_history b
      WHERE b.advertiser_id = g.advertiser_id AND b.event_time > g.window_start AND b.event_time < g.window_end
    ) p
  ) s
) w;

-- Per advertiser and UTC day two rows: 'Spend' = the day's net spend; 'Remaining Budget' = budget in force minus
-- period-to-date net spend at the end of the day's latest row, floored at 0 (0 without a budget).
CREATE VIEW gold.combined_spend_budget AS
WITH days AS (
  SELECT g.advertiser_id,
         coalesce((array_agg(g.advertiser ORDER BY g.window_start DESC) FILTER (WHERE g.advertiser IS NOT NULL))[1],
                  g.advertiser_id) AS advertiser,
         g.spend_day,
         sum(g.net_spend) AS net_spend,
         (array_agg(g.budget_value ORDER BY g.window_start DESC))[1] AS budget_value,
         (array_agg(g.period_net_spend ORDER BY g.window_start DESC))[1] AS period_net_spend
  FROM gold.advertiser_spend g
  GROUP BY g.advertiser_id, g.spend_day
)
SELECT d.advertiser, d.spend_day, 'Spend'::text AS category, d.net_spend::numeric(20, 6) AS amount
FROM days d
UNION ALL
SELECT d.advertiser, d.spend_day, 'Remaining Budget'::text AS category,
       greatest(coalesce(d.budget_value, 0) - d.period_net_spend, 0)::numeric(20, 6) AS amount
FROM days d;

COMMENT ON VIEW gold.hourly_spend IS 'Gross/net spend per advertiser and hour.';
COMMENT ON VIEW gold.daily_spend IS 'Gross/net spend per advertiser and UTC day.';
COMMENT ON VIEW gold.monthly_spend IS 'Spend, clicks, latest budget and serving status per advertiser and UTC month.';
COMMENT ON VIEW gold.aggregated_advertiser_spend IS 'All-time totals per advertiser with latest budget and status.';
COMMENT ON VIEW gold.latest_serving_status IS 'can_serve of each advertiser''s latest hour.';
COMMENT ON VIEW gold.latest_changed_budgets IS 'Latest hour where each advertiser''s budget changed.';
COMMENT ON VIEW gold.hourly_average_budget IS 'Time-weighted average budget in force per advertiser and hour.';
COMMENT ON VIEW gold.combined_spend_budget IS 'Daily net spend and remaining budget per advertiser (dashboard).';
