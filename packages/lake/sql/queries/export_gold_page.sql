-- name: export_gold_page
-- params: $1 spend_day timestamptz, $2 after_advertiser_id text (NULL = from the start), $3 after_window_start timestamptz, $4 page_size integer
-- returns: the next page of one UTC day of gold.advertiser_spend in (advertiser_id, window_start) order
--          (keyset pagination on the (spend_day, advertiser_id) index; memory bounded by page_size).
-- Encodings: numeric as text, timestamptz as microseconds since the epoch (text), bigint as text, date as days
-- since the epoch.
SELECT g.advertiser, g.advertiser_id,
       g.gross_spend::text AS gross_spend, g.net_spend::text AS net_spend, g.record_count::text AS record_count,
       g.budget_value::text AS budget_value, g.can_serve,
       (extract(epoch FROM g.window_start) * 1000000)::int8::text AS window_start,
       (extract(epoch FROM g.window_end) * 1000000)::int8::text AS window_end,
       (extract(epoch FROM g.spend_hour) * 1000000)::int8::text AS spend_hour,
       (extract(epoch FROM g.spend_day) * 1000000)::int8::text AS spend_day,
       (extract(epoch FROM g.spend_month) * 1000000)::int8::text AS spend_month,
       g.valid_clicks::text AS valid_clicks, g.invalid_clicks::text AS invalid_clicks,
       g.duplicate_clicks::text AS duplicate_clicks,
       (extract(epoch FROM g.budget_event_time) * 1000000)::int8::text AS budget_event_time,
       g.period_net_spend::text AS period_net_spend, g.serving_reason,
       (extract(epoch FROM g.last_event_time) * 1000000)::int8::text AS last_event_time,
       (extract(epoch FROM g.updated_at) * 1000000)::int8::text AS updated_at,
       g.budget_source, g.over_cap_spend::text AS over_cap_spend,
       (g.local_spend_day - DATE '1970-01-01') AS local_spend_day,
       g.window_start AS page_window_start
FROM gold.advertiser_spend g
WHERE g.spend_day = $1::timestamptz
  AND ($2::text IS NULL OR (g.advertiser_id, g.window_start) > ($2::text, $3::timestamptz))
ORDER BY g.advertiser_id, g.window_start
LIMIT $4::integer;
