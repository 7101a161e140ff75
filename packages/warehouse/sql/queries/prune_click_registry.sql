-- name: prune_click_registry
-- params: $1 cutoff timestamptz (entries whose first record is older are removed)
-- returns: removed bigint
SELECT ingest.prune_click_registry($1::timestamptz) AS removed;
