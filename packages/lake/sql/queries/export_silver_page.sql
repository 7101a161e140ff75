-- name: export_silver_page
-- params: $1 topics text[], $2 partitions integer[], $3 next_offsets bigint[], $4 page_size integer, $5 generations integer[]
-- returns: the next page of silver.ad_click_events_clean in (topic, partition, generation, offset) order, from each
--          partition's next offset on (see export_bronze_page for why this is safe and bounded).
-- Each (topic, partition, topic generation) is its own stream: a recreated topic's new log starts again at 0.
-- Encodings: numeric as text, timestamptz as microseconds since the epoch (text), bigint as text.
SELECT c.event_type, c.click_id, c.advertiser, c.advertiser_id, c.ad_id,
       c.amount::text AS amount, c.budget_value::text AS budget_value,
       (extract(epoch FROM c."timestamp") * 1000000)::int8::text AS "timestamp",
       c.is_valid,
       (extract(epoch FROM c.processed_at) * 1000000)::int8::text AS processed_at,
       c.ingest_year, c.ingest_month, c.ingest_day, c.ingest_hour,
       c.error_codes, c.warnings,
       (extract(epoch FROM c.gold_window_start) * 1000000)::int8::text AS gold_window_start,
       c.contrib_gross_micros::text AS contrib_gross_micros, c.contrib_net_micros::text AS contrib_net_micros,
       c.contrib_records, c.contrib_valid_clicks, c.contrib_invalid_clicks, c.contrib_duplicate_clicks,
       c.topic, c."partition", c."offset"::text AS "offset",
       (extract(epoch FROM c.kafka_timestamp) * 1000000)::int8::text AS kafka_timestamp,
       c.topic_generation, c.contrib_over_cap_micros::text AS contrib_over_cap_micros
FROM unnest($1::text[], $2::integer[], $3::bigint[], $5::integer[]) AS s(topic, "partition", next_offset, generation)
CROSS JOIN LATERAL (
  SELECT r.*
  FROM silver.ad_click_events_clean r
  WHERE r.topic = s.topic AND r."partition" = s."partition" AND r.topic_generation = s.generation
    AND r."offset" >= s.next_offset
  ORDER BY r."offset"
  LIMIT $4::integer
) c
ORDER BY c.topic, c."partition", c.topic_generation, c."offset"
LIMIT $4::integer;
