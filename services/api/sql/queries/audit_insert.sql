-- name: audit_insert
-- Records one budget change or pause/resume in the audit trail.
-- params: $1 advertiser_id text, $2 action text ('set_budget' | 'pause' | 'resume'),
--         $3 old_budget_micros bigint|null, $4 new_budget_micros bigint|null, $5 period text|null,
--         $6 actor text, $7 source text, $8 event_id text|null, $9 request_id text|null, $10 note text|null,
--         $11 old_mode text|null, $12 new_mode text|null ('observe' | 'hard_cap'),
--         $13 old_budget_period text|null, $14 new_budget_period text|null, $15 old_time_zone text|null,
--         $16 new_time_zone text|null, $17 old_pacing text|null, $18 new_pacing text|null
--         ('asap' | 'even' | 'shaped')
-- returns: id (text), created_at
INSERT INTO api.budget_audit
  (advertiser_id, action, old_budget_micros, new_budget_micros, period, actor, source, event_id, request_id, note,
   old_mode, new_mode, old_budget_period, new_budget_period, old_time_zone, new_time_zone, old_pacing, new_pacing)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
RETURNING id::text AS id, created_at
