-- name: outbox_claim
-- params: $1 limit integer, $2 lease_ms integer
-- returns: id text, channel text, destination text, attempts integer, event_id text, kind text, advertiser_id text,
--          advertiser text, period_id text, period_start timestamptz, period_end timestamptz, threshold_pct integer,
--          period_net_micros text, budget_micros text, fired_at timestamptz
--
-- Claims up to $1 due deliveries (oldest first) and counts the attempt. SKIP LOCKED lets replicas claim disjoint
-- rows; the claim leases the row for $2 ms (next_attempt_at moves past the send), so a dispatcher that dies mid-send
-- leaves it to be retried after the lease, never lost (delivery is at least once; receivers dedup on event_id).
WITH due AS (
  SELECT o.id
  FROM alerts.outbox o
  WHERE o.state = 'pending' AND o.next_attempt_at <= now()
  ORDER BY o.next_attempt_at, o.id
  LIMIT $1
  FOR UPDATE SKIP LOCKED
),
claimed AS (
  UPDATE alerts.outbox o
  SET attempts = o.attempts + 1,
      next_attempt_at = now() + $2::integer * interval '1 millisecond'
  FROM due
  WHERE o.id = due.id
  RETURNING o.id, o.channel, o.destination, o.attempts, o.event_id
)
SELECT c.id::text AS id, c.channel, c.destination, c.attempts, f.event_id::text AS event_id, f.kind,
       f.advertiser_id, f.advertiser, f.period_id, f.period_start, f.period_end, f.threshold_pct,
       f.period_net_micros::text AS period_net_micros, f.budget_micros::text AS budget_micros, f.fired_at
FROM claimed c
JOIN alerts.fired f ON f.event_id = c.event_id
ORDER BY c.id
