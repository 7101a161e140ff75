-- name: drop_day_partitions_before
-- params: $1 cutoff_day date (partitions of days before it are dropped)
-- returns: name text, one row per dropped partition
SELECT name FROM ingest.drop_day_partitions_before($1::date) AS name;
