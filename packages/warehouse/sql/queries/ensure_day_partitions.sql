-- name: ensure_day_partitions
-- params: $1 first_day date, $2 last_day date
-- returns: created integer (partitions created, 0 when all existed)
SELECT ingest.ensure_day_partitions($1::date, $2::date) AS created;
