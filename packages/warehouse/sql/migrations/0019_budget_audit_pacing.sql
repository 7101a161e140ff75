-- version: 0019
-- previous: 0018
-- name: budget_audit_pacing
--
-- Pacing (docs/realtime.md, "Pacing") is set through the API's budget route like a mode and audited like one: the
-- pacing the tracker had when the change was asked (old_pacing, NULL = unknown) and the pacing the change set
-- (new_pacing, NULL = the request set none, so the pacing in force stayed; pause and resume rows). Rows written
-- before this migration keep NULLs. The API role's table-level INSERT/SELECT grants cover the new columns.

ALTER TABLE api.budget_audit
  ADD COLUMN old_pacing text CHECK (old_pacing IN ('asap', 'even', 'shaped')),
  ADD COLUMN new_pacing text CHECK (new_pacing IN ('asap', 'even', 'shaped')),
  ADD CONSTRAINT budget_audit_new_pacing_on_set_budget CHECK (new_pacing IS NULL OR action = 'set_budget');
COMMENT ON COLUMN api.budget_audit.old_pacing IS
  'Pacing in force in the tracker when the change was asked (asap | even | shaped); NULL when unknown.';
COMMENT ON COLUMN api.budget_audit.new_pacing IS
  'Pacing set by this change (pacing on its budget_update event); NULL when it set none.';
