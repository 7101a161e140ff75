-- name: audit_list
-- The audit trail of one advertiser, newest first, keyset-paginated by id.
-- params: $1 advertiser_id text, $2 before_id bigint|null (exclusive), $3 limit integer
SELECT id::text AS id, advertiser_id, action, old_budget_micros::text AS old_budget_micros,
       new_budget_micros::text AS new_budget_micros, old_mode, new_mode, old_budget_period,
       new_budget_period, old_time_zone, new_time_zone, old_pacing, new_pacing, period, actor, source, event_id, note,
       created_at
FROM api.budget_audit
WHERE advertiser_id = $1
  AND ($2::bigint IS NULL OR id < $2::bigint)
ORDER BY id DESC
LIMIT $3
