-- name: advertisers_list
-- Advertisers in Gold with the display name the views use (name of the latest row that has one, else the
-- id), for filters and for mapping ids to the views' advertiser column.
-- params: $1 advertiser text|null (exact display name), $2 limit integer, $3 offset integer
SELECT a.advertiser_id, a.advertiser, a.first_hour, a.latest_hour
FROM (
  SELECT g.advertiser_id,
         coalesce((array_agg(g.advertiser ORDER BY g.window_start DESC) FILTER (WHERE g.advertiser IS NOT NULL))[1],
                  g.advertiser_id) AS advertiser,
         min(g.window_start) AS first_hour,
         max(g.window_start) AS latest_hour
  FROM gold.advertiser_spend g
  GROUP BY g.advertiser_id
) a
WHERE ($1::text IS NULL OR a.advertiser = $1::text)
ORDER BY a.advertiser, a.advertiser_id
LIMIT $2 OFFSET $3
