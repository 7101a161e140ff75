-- name: export_bronze_page
-- params: $1 topics text[], $2 partitions integer[], $3 next_offsets bigint[], $4 page_size integer, $5 generations integer[]
-- returns: the next page of bronze.ad_click_events_raw in (topic, partition, generation, offset) order, from each partition's
--          next offset on (keyset pagination per partition: one index range scan each, memory bounded by
--          page_size). Within a partition, rows commit in offset order (one ingest transaction per batch,
--          serialised by the offsets row lock), so a row visible at offset o means every lower offset is too.
-- Each (topic, partition, topic generation) is its own stream: a recreated topic's new log starts again at 0.
-- Encodings: numeric as text, timestamptz as microseconds since the epoch (text), kafka_date as days since
-- 1970-01-01 (UTC day of kafka_timestamp: the Delta partition column).
SELECT b.event_type, b.click_id, b.advertiser, b.advertiser_id, b.ad_id,
       b.amount::text AS amount, b.budget_value::text AS budget_value,
       (extract(epoch FROM b."timestamp") * 1000000)::int8::text AS "timestamp",
       b.topic, b."partition", b."offset"::text AS "offset",
       (extract(epoch FROM b.kafka_timestamp) * 1000000)::int8::text AS kafka_timestamp,
       b.topic_generation,
       b.record_key, b.raw_payload, b.payload_bytes, b.payload_truncated,
       b.parse_status, b.rejection_reason, b.rejection_detail,
       (extract(epoch FROM b.ingested_at) * 1000000)::int8::text AS ingested_at,
       ((b.kafka_timestamp AT TIME ZONE 'UTC')::date - DATE '1970-01-01') AS kafka_date
FROM unnest($1::text[], $2::integer[], $3::bigint[], $5::integer[]) AS s(topic, "partition", next_offset, generation)
CROSS JOIN LATERAL (
  SELECT r.*
  FROM bronze.ad_click_events_raw r
  WHERE r.topic = s.topic AND r."partition" = s."partition" AND r.topic_generation = s.generation
    AND r."offset" >= s.next_offset
  ORDER BY r."offset"
  LIMIT $4::integer
) b
ORDER BY b.topic, b."partition", b.topic_generation, b."offset"
LIMIT $4::integer;
