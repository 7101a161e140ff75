-- name: alert_thresholds_read
-- params: $1 advertiser_ids text[]
-- returns: advertiser_id text, thresholds_pct integer[]
--
-- The advertisers' own alert thresholds (alerts.thresholds); advertisers without a row use the service default.
SELECT t.advertiser_id, t.thresholds_pct
FROM alerts.thresholds t
WHERE t.advertiser_id = ANY ($1::text[])
