-- name: bronze_lineage_in_ranges
-- params: $1 topic text, $2 partitions integer[], $3 first_offsets bigint[], $4 last_offsets bigint[] (aligned: one offset range per partition), $5 generation integer
-- returns: partition integer, offset text (bigint as text): every Bronze record of the topic's generation in those ranges
--
-- Which lineage keys Bronze already holds, whatever their Kafka time: a record replayed from another source
-- (Event Hubs Capture) may carry a different timestamp than the copy the live ingestor wrote (the enqueued time
-- versus a producer's CreateTime), and (topic, partition, generation, offset) alone identifies a record (a recreated
-- topic's log is another generation, its offsets start again at 0). One index range scan per partition and Bronze
-- day (the primary key starts with topic, partition, topic_generation, offset).
SELECT b."partition", b."offset"::text AS "offset"
FROM unnest($2::integer[], $3::bigint[], $4::bigint[]) AS r("partition", first_offset, last_offset)
JOIN bronze.ad_click_events_raw b
  ON b.topic = $1::text AND b."partition" = r."partition" AND b.topic_generation = $5::integer
 AND b."offset" BETWEEN r.first_offset AND r.last_offset;
