-- name: export_streams
-- params: none
-- returns: topic text, partition integer, end_offset text (bigint): every Kafka partition the warehouse has
--          ingested and the next offset it will ingest (the export's target; its lag = end_offset - exported)
SELECT topic, "partition", max(next_offset)::text AS end_offset
FROM ingest.consumer_offsets
GROUP BY topic, "partition"
ORDER BY topic, "partition";
