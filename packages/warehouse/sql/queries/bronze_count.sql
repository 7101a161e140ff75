-- name: bronze_count
-- params: $1 from_ms bigint, $2 to_ms bigint
-- returns: records text (bigint): Bronze records with Kafka record time in [from, to)
SELECT count(*)::text AS records
FROM bronze.ad_click_events_raw b
WHERE b.kafka_timestamp >= 'epoch'::timestamptz + $1::bigint * interval '1 millisecond'
  AND b.kafka_timestamp < 'epoch'::timestamptz + $2::bigint * interval '1 millisecond';
