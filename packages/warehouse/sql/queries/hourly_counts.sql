-- name: hourly_counts
-- params: $1 from_ms bigint, $2 to_ms bigint (hours starting in [from, to))
-- returns: hour_ms text, bronze text, rejected text, silver text, duplicates text, silver_clicks text, gold_clicks text, gold_rows text
--
-- Per UTC hour, row counts per layer, to spot gaps. Two time axes:
--  * record time (Kafka timestamp): bronze, rejected, silver (clean), duplicates. Complete data satisfies
--    bronze = rejected + silver + duplicates for every hour.
--  * event time (Gold windows): silver_clicks = clicks Silver attributes to the hour (non-duplicate clicks
--    + duplicates), gold_clicks = record_count + duplicate_clicks of the hour's Gold rows; they must be equal.
WITH hours AS (
  SELECT generate_series(
           date_trunc('hour', 'epoch'::timestamptz + $1::bigint * interval '1 millisecond', 'UTC'),
           'epoch'::timestamptz + $2::bigint * interval '1 millisecond' - interval '1 microsecond',
           interval '1 hour') AS hour
),
lo_hi AS (
  SELECT min(hour) AS lo, max(hour) + interval '1 hour' AS hi FROM hours
),
bronze AS (
  SELECT date_trunc('hour', b.kafka_timestamp, 'UTC') AS hour, count(*) AS records,
         count(*) FILTER (WHERE b.parse_status = 'rejected') AS rejected
  FROM bronze.ad_click_events_raw b, lo_hi
  WHERE b.kafka_timestamp >= lo_hi.lo AND b.kafka_timestamp < lo_hi.hi
  GROUP BY 1
),
silver AS (
  SELECT date_trunc('hour', s.kafka_timestamp, 'UTC') AS hour, count(*) AS rows
  FROM silver.ad_click_events_clean s, lo_hi
  WHERE s.kafka_timestamp >= lo_hi.lo AND s.kafka_timestamp < lo_hi.hi
  GROUP BY 1
),
duplicates AS (
  SELECT date_trunc('hour', d.kafka_timestamp, 'UTC') AS hour, count(*) AS rows
  FROM silver.duplicate_clicks d, lo_hi
  WHERE d.kafka_timestamp >= lo_hi.lo AND d.kafka_timestamp < lo_hi.hi
  GROUP BY 1
),
silver_clicks AS (
  SELECT c.gold_window_start AS hour, sum(c.n) AS clicks
  FROM (
    SELECT s.gold_window_start, (s.contrib_records + s.contrib_duplicate_clicks)::bigint AS n
    FROM silver.ad_click_events_clean s
    WHERE s.gold_window_start IS NOT NULL
    UNION ALL
    SELECT d.gold_window_start, (d.contrib_records + d.contrib_duplicate_clicks)::bigint
    FROM silver.duplicate_clicks d
    WHERE d.gold_window_start IS NOT NULL
  ) c, lo_hi
  WHERE c.gold_window_start >= lo_hi.lo AND c.gold_window_start < lo_hi.hi
  GROUP BY 1
),
gold AS (
  SELECT g.window_start AS hour, sum(g.record_count + g.duplicate_clicks) AS clicks, count(*) AS rows
  FROM gold.advertiser_spend g, lo_hi
  WHERE g.window_start >= lo_hi.lo AND g.window_start < lo_hi.hi
  GROUP BY 1
)
SELECT ((extract(epoch FROM h.hour) * 1000)::bigint)::text AS hour_ms,
       coalesce(b.records, 0)::text AS bronze,
       coalesce(b.rejected, 0)::text AS rejected,
       coalesce(s.rows, 0)::text AS silver,
       coalesce(d.rows, 0)::text AS duplicates,
       coalesce(sc.clicks, 0)::text AS silver_clicks,
       coalesce(g.clicks, 0)::text AS gold_clicks,
       coalesce(g.rows, 0)::text AS gold_rows
FROM hours h
LEFT JOIN bronze b ON b.hour = h.hour
LEFT JOIN silver s ON s.hour = h.hour
LEFT JOIN duplicates d ON d.hour = h.hour
LEFT JOIN silver_clicks sc ON sc.hour = h.hour
LEFT JOIN gold g ON g.hour = h.hour
ORDER BY h.hour;
