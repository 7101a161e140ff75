-- name: export_streams
-- params: none
-- returns: topic text, generation integer, partition integer, end_offset text (bigint), current boolean: every
--          Kafka partition the warehouse has ingested, per generation of its topic (a recreated topic's new log is
--          a new stream), and the next offset the warehouse will ingest there (the export's target; its lag =
--          end_offset - exported). current: the generation the warehouse consumes now; an older generation ends
--          where a reset left it (ingest.generation_ends).
SELECT topic, generation, "partition", max(next_offset)::text AS end_offset, bool_or(current) AS current
FROM (
  SELECT topic, generation, "partition", next_offset, true AS current FROM ingest.consumer_offsets
  UNION ALL
  SELECT topic, generation, "partition", next_offset, false AS current FROM ingest.generation_ends
) s
GROUP BY topic, generation, "partition"
ORDER BY topic, generation, "partition";
