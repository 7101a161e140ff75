-- name: alerts_fire
-- params: $1 period_id text, $2 period_start_ms bigint, $3 period_end_ms bigint, $4 advertiser_ids text[],
--         $5 advertisers text[], $6 kinds text[], $7 thresholds_pct integer[], $8 net_micros bigint[],
--         $9 budget_micros bigint[], $10 channels text[], $11 destinations text[]
-- returns: event_id text, advertiser_id text, kind text, threshold_pct integer, fired_at timestamptz
--
-- Fires the candidate alerts of one budget period (arrays $4..$9, one element per alert) that have not fired yet,
-- and queues one delivery per target (arrays $10, $11) for each: one statement, so one transaction. The UNIQUE
-- key fired_once makes a candidate that fired before (another pass, another replica, before a restart) a no-op:
-- it gets no second row and no second delivery. Returns the alerts fired now.
WITH candidate AS (
  SELECT c.advertiser_id, c.advertiser, c.kind, c.threshold_pct, c.net_micros, c.budget_micros
  FROM unnest($4::text[], $5::text[], $6::text[], $7::integer[], $8::bigint[], $9::bigint[])
    AS c(advertiser_id, advertiser, kind, threshold_pct, net_micros, budget_micros)
),
fired AS (
  INSERT INTO alerts.fired (advertiser_id, advertiser, period_id, period_start, period_end, kind, threshold_pct,
                            period_net_micros, budget_micros)
  SELECT c.advertiser_id, c.advertiser, $1::text,
         'epoch'::timestamptz + $2::bigint * interval '1 millisecond',
         'epoch'::timestamptz + $3::bigint * interval '1 millisecond',
         c.kind, c.threshold_pct, c.net_micros, c.budget_micros
  FROM candidate c
  -- One insertion order for every writer: two replicas firing the same batch cannot deadlock on the key.
  ORDER BY c.advertiser_id, c.kind, c.threshold_pct
  ON CONFLICT ON CONSTRAINT fired_once DO NOTHING
  RETURNING event_id, advertiser_id, kind, threshold_pct, fired_at
),
queued AS (
  INSERT INTO alerts.outbox (event_id, channel, destination)
  SELECT f.event_id, t.channel, t.destination
  FROM fired f
  CROSS JOIN unnest($10::text[], $11::text[]) AS t(channel, destination)
  RETURNING 1
)
SELECT f.event_id::text AS event_id, f.advertiser_id, f.kind, f.threshold_pct, f.fired_at
-- queued runs to completion although not read (PostgreSQL executes every data-modifying WITH).
FROM fired f
ORDER BY f.advertiser_id, f.kind, f.threshold_pct
