-- version: 0018
-- previous: 0017
-- name: budget_audit_calendars
--
-- Per-advertiser budget calendars (docs/core.md, "Per-advertiser budget period and time zone"): the API's budget
-- route sets an advertiser's budget_period and IANA time_zone like its mode, and audits them the same way: the
-- calendar the tracker had when the change was asked (old_*, NULL = unknown) and the one the change set (new_*,
-- NULL = the request set none, so the setting in force stayed; pause and resume rows). Rows written before this
-- migration keep NULLs: those changes set no calendar. The API role's table-level grants cover the new columns.

ALTER TABLE api.budget_audit
  ADD COLUMN old_budget_period text CHECK (old_budget_period IN ('hour', 'day', 'month', 'lifetime')),
  ADD COLUMN new_budget_period text CHECK (new_budget_period IN ('hour', 'day', 'month', 'lifetime')),
  ADD COLUMN old_time_zone text CHECK (length(old_time_zone) BETWEEN 1 AND 64),
  ADD COLUMN new_time_zone text CHECK (length(new_time_zone) BETWEEN 1 AND 64),
  ADD CONSTRAINT budget_audit_new_calendar_on_set_budget
    CHECK ((new_budget_period IS NULL AND new_time_zone IS NULL) OR action = 'set_budget');
COMMENT ON COLUMN api.budget_audit.old_budget_period IS
  'Budget period in force in the tracker when the change was asked (hash budget_period); NULL when unknown.';
COMMENT ON COLUMN api.budget_audit.new_budget_period IS
  'Budget period set by this change (budget_period on its budget_update event); NULL when it set none.';
COMMENT ON COLUMN api.budget_audit.old_time_zone IS
  'IANA time zone in force in the tracker when the change was asked (hash time_zone); NULL when unknown.';
COMMENT ON COLUMN api.budget_audit.new_time_zone IS
  'IANA time zone set by this change (time_zone on its budget_update event); NULL when it set none.';
