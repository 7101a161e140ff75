-- version: 0015
-- previous: 0014
-- name: budget_audit_modes
--
-- Budget modes (docs/core.md, "Budget modes and the billing clamp") are set through the API's budget route like a
-- budget and audited like one: the mode the tracker had when the change was asked (old_mode, NULL = unknown) and
-- the mode the change set (new_mode, NULL = the request set none, so the mode in force stayed; pause and resume
-- rows). Rows written before this migration keep NULLs: those changes set no mode. The API role's table-level
-- INSERT/SELECT grants cover the new columns.

ALTER TABLE api.budget_audit
  ADD COLUMN old_mode text CHECK (old_mode IN ('observe', 'hard_cap')),
  ADD COLUMN new_mode text CHECK (new_mode IN ('observe', 'hard_cap')),
  ADD CONSTRAINT budget_audit_new_mode_on_set_budget CHECK (new_mode IS NULL OR action = 'set_budget');
COMMENT ON COLUMN api.budget_audit.old_mode IS
  'Budget mode in force in the tracker when the change was asked (observe | hard_cap); NULL when unknown.';
COMMENT ON COLUMN api.budget_audit.new_mode IS
  'Budget mode set by this change (budget_mode on its budget_update event); NULL when it set none.';
