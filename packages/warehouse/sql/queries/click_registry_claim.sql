-- name: click_registry_claim
-- params: $1 dedup_keys text[], $2 click_ids text[], $3 advertiser_ids text[], $4 topics text[], $5 partitions integer[], $6 offsets bigint[], $7 kafka_timestamps_ms bigint[], $8 event_times_ms bigint[], $9 generations integer[]
-- returns: dedup_key text, claimed boolean, first_topic text, first_partition integer, first_generation integer, first_offset text
--
-- Claims the dedup keys (clickDedupKey of @adpipe/core) of a batch in the global registry. Input is in batch
-- (partition offset) order, so the first element with a key is its candidate. claimed = true: that element is the
-- first occurrence. claimed = false: an earlier committed record owns the key (its lineage is returned). A key in
-- neither result was claimed by a concurrent transaction that committed after this statement's snapshot: also a
-- duplicate. Inserts go in key order, so writers with overlapping keys wait on each other instead of deadlocking.
WITH candidate AS (
  SELECT DISTINCT ON (c.dedup_key) c.*
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::bigint[], $7::bigint[], $8::bigint[],
              $9::integer[])
         WITH ORDINALITY AS c(dedup_key, click_id, advertiser_id, topic, "partition", "offset", kafka_ms, event_ms,
                              topic_generation, ord)
  ORDER BY c.dedup_key, c.ord
),
claimed AS (
  INSERT INTO ingest.click_registry
    (dedup_key, click_id, advertiser_id, topic, "partition", "offset", kafka_timestamp, event_time, topic_generation)
  SELECT dedup_key, click_id, advertiser_id, topic, "partition", "offset",
         'epoch'::timestamptz + kafka_ms * interval '1 millisecond',
         'epoch'::timestamptz + event_ms * interval '1 millisecond',
         topic_generation
  FROM candidate
  ORDER BY dedup_key
  ON CONFLICT (dedup_key) DO NOTHING
  RETURNING dedup_key, topic, "partition", topic_generation, "offset"
)
SELECT dedup_key, true AS claimed, topic AS first_topic, "partition" AS first_partition,
       topic_generation AS first_generation, "offset"::text AS first_offset
FROM claimed
UNION ALL
SELECT c.dedup_key, false, r.topic, r."partition", r.topic_generation, r."offset"::text
FROM candidate c
-- Only the keys this statement did not claim (the duplicates, a few per cent) are looked up, each through the
-- primary key: LIMIT 1 keeps the planner from turning this into a scan of the whole registry per batch.
CROSS JOIN LATERAL (
  SELECT r.topic, r."partition", r.topic_generation, r."offset"
  FROM ingest.click_registry r
  WHERE r.dedup_key = c.dedup_key
  LIMIT 1
) r
WHERE NOT EXISTS (SELECT 1 FROM claimed k WHERE k.dedup_key = c.dedup_key);
