-- version: 0009
-- previous: 0008
-- name: api_budget_audit
--
-- The HTTP API's own state: the audit trail of budget changes and pauses (who, when, old, new, source),
-- and the API's group role. adpipe_api = adpipe_reader (Gold tables and views) + INSERT/SELECT on the
-- audit table, nothing else: a leaked API credential can neither change spend nor rewrite history
-- (no UPDATE/DELETE on the audit). Operators create a login role and grant it this one:
--   CREATE ROLE api_login LOGIN PASSWORD '...' IN ROLE adpipe_api;
-- and the API's DATABASE_URL uses api_login.

CREATE SCHEMA IF NOT EXISTS api;
COMMENT ON SCHEMA api IS 'State owned by the HTTP API (budget audit trail).';

CREATE TABLE api.budget_audit (
  id                bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  advertiser_id     text        NOT NULL CHECK (length(advertiser_id) BETWEEN 1 AND 128),
  action            text        NOT NULL CHECK (action IN ('set_budget', 'pause', 'resume')),
  -- Micros (1 unit = 1,000,000). old = the tracker's budget when the change was asked (null = unknown).
  old_budget_micros bigint      CHECK (old_budget_micros >= 0),
  new_budget_micros bigint      CHECK (new_budget_micros >= 0),
  period            text        CHECK (period IN ('hour', 'day', 'month', 'lifetime')),
  -- Token identity of the caller (API_WRITE_TOKENS name, or token-<sha256 prefix>), never the token.
  actor             text        NOT NULL CHECK (length(actor) BETWEEN 1 AND 128),
  source            text        NOT NULL CHECK (length(source) BETWEEN 1 AND 64),
  -- click_id of the budget_update event on the topic (set_budget only).
  event_id          text,
  request_id        text,
  note              text        CHECK (length(note) <= 500),
  created_at        timestamptz NOT NULL DEFAULT now(),
  CHECK (action <> 'set_budget' OR (new_budget_micros IS NOT NULL AND event_id IS NOT NULL))
);
CREATE INDEX budget_audit_advertiser_idx ON api.budget_audit (advertiser_id, id DESC);
COMMENT ON TABLE api.budget_audit IS
  'Budget changes and pauses asked through the API; append-only for the API role.';

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'adpipe_api') THEN
    CREATE ROLE adpipe_api NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- created concurrently by a migration in another database
END
$$;

-- Membership is cluster-wide like the roles: a test database migrating at the same moment may race this
-- GRANT ("tuple concurrently updated"); either way the membership exists afterwards.
DO $$
BEGIN
  IF NOT pg_catalog.pg_has_role('adpipe_api', 'adpipe_reader', 'MEMBER') THEN
    GRANT adpipe_reader TO adpipe_api;
  END IF;
EXCEPTION WHEN unique_violation OR duplicate_object OR internal_error THEN
  NULL;
END
$$;

GRANT USAGE ON SCHEMA api TO adpipe_api;
GRANT SELECT, INSERT ON api.budget_audit TO adpipe_api;
