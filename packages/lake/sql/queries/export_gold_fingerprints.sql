-- name: export_gold_fingerprints
-- params: none
-- returns: spend_day text (microseconds since the epoch), rows text (bigint), fingerprint text: per UTC day of
--          gold.advertiser_spend a content fingerprint (row count and the sum of a 64-bit hash of every row's
--          text). Any insert, update (updated_at changes) or delete of a day's rows changes it, so the exporter
--          rewrites exactly the days whose fingerprint differs from the one stored with the day's Delta files.
--          The session time zone must be UTC (createPool sets it): the row text includes timestamptz values.
SELECT (extract(epoch FROM g.spend_day) * 1000000)::int8::text AS spend_day,
       count(*)::text AS rows,
       count(*)::text || ':' || sum(hashtextextended(g::text, 0)::numeric)::text AS fingerprint
FROM gold.advertiser_spend g
GROUP BY g.spend_day
ORDER BY g.spend_day;
