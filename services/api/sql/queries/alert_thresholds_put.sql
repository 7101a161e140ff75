-- name: alert_thresholds_put
-- Sets an advertiser's alert thresholds (sorted, distinct: checked by the route), or removes them when $2 is NULL
-- (back to the alerter's default), and audits the change (alerts.threshold_audit: old and new, who), all in one
-- statement. The next evaluation pass uses them; alerts already fired stay fired.
-- params: $1 advertiser_id text, $2 thresholds_pct integer[]|null, $3 updated_by text
WITH previous AS (
  SELECT thresholds_pct FROM alerts.thresholds WHERE advertiser_id = $1
),
audited AS (
  INSERT INTO alerts.threshold_audit (advertiser_id, old_thresholds_pct, new_thresholds_pct, actor)
  SELECT $1, (SELECT thresholds_pct FROM previous), $2::integer[], $3
  RETURNING id
),
removed AS (
  DELETE FROM alerts.thresholds WHERE advertiser_id = $1 AND $2::integer[] IS NULL
  RETURNING advertiser_id
)
INSERT INTO alerts.thresholds (advertiser_id, thresholds_pct, updated_at, updated_by)
SELECT $1, $2::integer[], now(), $3
WHERE $2::integer[] IS NOT NULL
ON CONFLICT (advertiser_id) DO UPDATE
SET thresholds_pct = EXCLUDED.thresholds_pct, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
RETURNING thresholds_pct, updated_at, updated_by
