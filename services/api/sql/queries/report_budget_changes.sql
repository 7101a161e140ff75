-- name: report_budget_changes
-- Latest hour where each advertiser's budget changed (gold.latest_changed_budgets).
-- params: $1 advertiser text|null, $2 advertiser_id text|null, $3 from timestamptz|null (inclusive),
--         $4 to timestamptz|null (exclusive), $5 limit integer, $6 offset integer
SELECT v.advertiser, v.spend_hour, v.budget_value
FROM gold.latest_changed_budgets v
WHERE ($1::text IS NULL OR v.advertiser = $1::text)
  AND ($2::text IS NULL OR v.advertiser = (
    -- The advertiser's display name as the views compute it: the name of its latest Gold row that has one.
    SELECT coalesce((array_agg(g.advertiser ORDER BY g.window_start DESC) FILTER (WHERE g.advertiser IS NOT NULL))[1],
                    g.advertiser_id)
    FROM gold.advertiser_spend g
    WHERE g.advertiser_id = $2::text
    GROUP BY g.advertiser_id))
  AND ($3::timestamptz IS NULL OR v.spend_hour >= $3::timestamptz)
  AND ($4::timestamptz IS NULL OR v.spend_hour < $4::timestamptz)
ORDER BY v.advertiser, v.spend_hour
LIMIT $5 OFFSET $6
