-- name: alerts_list
-- Fired budget alerts, newest first, keyset-paginated by (fired_at, event_id), with the state of their deliveries.
-- params: $1 advertiser_id text|null, $2 since timestamptz|null (inclusive), $3 before_fired_at timestamptz|null,
--         $4 before_event_id uuid|null (exclusive cursor with $3), $5 limit integer
SELECT f.event_id::text AS event_id, f.kind, f.advertiser_id, f.advertiser, f.period_id, f.period_start, f.period_end,
       f.threshold_pct, f.period_net_micros::text AS period_net_micros, f.budget_micros::text AS budget_micros,
       f.fired_at,
       coalesce(
         (SELECT json_agg(json_build_object('channel', o.channel, 'state', o.state, 'attempts', o.attempts,
                                            'last_error', o.last_error, 'delivered_at', o.delivered_at)
                          ORDER BY o.id)
          FROM alerts.outbox o WHERE o.event_id = f.event_id),
         '[]'::json) AS deliveries
FROM alerts.fired f
WHERE ($1::text IS NULL OR f.advertiser_id = $1::text)
  AND ($2::timestamptz IS NULL OR f.fired_at >= $2::timestamptz)
  AND ($3::timestamptz IS NULL OR (f.fired_at, f.event_id) < ($3::timestamptz, $4::uuid))
ORDER BY f.fired_at DESC, f.event_id DESC
LIMIT $5
