-- name: topic_reset_detections_record
-- params: $1 service text, $2 consumer text, $3 topic text, $4 partitions integer[], $5 generations integer[], $6 stored_offsets bigint[], $7 log_start_offsets bigint[], $8 log_end_offsets bigint[], $9 reasons text[], $10 details text[] (aligned per partition)
-- returns: nothing
--
-- Records (or refreshes) the partitions a service found reset. detected_at keeps the first detection.
INSERT INTO ingest.topic_reset_detections AS d
  (service, consumer, topic, "partition", generation, stored_offset, log_start_offset, log_end_offset, reason, detail)
SELECT $1::text, $2::text, $3::text, r."partition", r.generation, r.stored_offset, r.log_start_offset,
       r.log_end_offset, r.reason, r.detail
FROM unnest($4::integer[], $5::integer[], $6::bigint[], $7::bigint[], $8::bigint[], $9::text[], $10::text[])
       AS r("partition", generation, stored_offset, log_start_offset, log_end_offset, reason, detail)
ON CONFLICT (service, consumer, topic, "partition") DO UPDATE
SET generation = EXCLUDED.generation,
    stored_offset = EXCLUDED.stored_offset,
    log_start_offset = EXCLUDED.log_start_offset,
    log_end_offset = EXCLUDED.log_end_offset,
    reason = EXCLUDED.reason,
    detail = EXCLUDED.detail;
