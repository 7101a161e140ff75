-- name: ping
-- Readiness probe: the database answers.
-- params: none
SELECT 1 AS ok
