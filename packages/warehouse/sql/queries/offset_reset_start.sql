-- name: offset_reset_start
-- params: $1 topic text, $2 target text, $3 actor text, $4 reason text, $5 source text, $6 plan jsonb
-- returns: id text (bigint)
--
-- Opens the audit row of a reset before anything moves. The unique index on unfinished rows refuses a second
-- one for the same topic (unique_violation): finish (re-run) or abandon the first.
INSERT INTO ingest.offset_resets (topic, target, actor, reason, source, plan, status)
VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::jsonb, 'started')
RETURNING id::text AS id;
