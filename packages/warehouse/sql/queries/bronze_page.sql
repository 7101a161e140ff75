-- name: bronze_page
-- params: $1 from_ms bigint, $2 to_ms bigint, $3 after_topic text, $4 after_partition integer, $5 after_generation integer, $6 after_offset bigint, $7 page_size integer
-- returns: topic, partition, generation, offset (text), kafka_ms (text), record_key bytea, raw_payload bytea
--
-- One page of Bronze records with Kafka record time in [from, to), in (topic, partition, generation, offset) order
-- after the given key (keyset pagination; pass '' / -1 / -1 / -1 for the first page). Reprocessing replays them in
-- this order, which is the partition order the live ingestor saw (an older log of a recreated topic first).
SELECT b.topic, b."partition", b.topic_generation AS generation, b."offset"::text AS "offset",
       ((extract(epoch FROM b.kafka_timestamp) * 1000)::bigint)::text AS kafka_ms,
       b.record_key, b.raw_payload
FROM bronze.ad_click_events_raw b
WHERE b.kafka_timestamp >= 'epoch'::timestamptz + $1::bigint * interval '1 millisecond'
  AND b.kafka_timestamp < 'epoch'::timestamptz + $2::bigint * interval '1 millisecond'
  AND (b.topic, b."partition", b.topic_generation, b."offset") > ($3::text, $4::integer, $5::integer, $6::bigint)
ORDER BY b.topic, b."partition", b.topic_generation, b."offset"
LIMIT $7::integer;
