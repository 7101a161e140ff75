-- name: alert_thresholds_get
-- One advertiser's own alert thresholds; no row: the alerter's ALERT_THRESHOLDS_PCT applies.
-- params: $1 advertiser_id text
SELECT thresholds_pct, updated_at, updated_by
FROM alerts.thresholds
WHERE advertiser_id = $1
