-- name: topic_offsets_move
-- params: $1 topic text, $2 from_generation integer, $3 to_generation integer, $4 pipelines text[], $5 partitions integer[], $6 next_offsets bigint[] (aligned), $7 reset_id bigint
-- returns: moved integer (offset rows written), ended integer (rows recorded in generation_ends)
--
-- The warehouse's part of a reset, run after topic_generation_lock and topic_offsets_lock in one transaction.
-- A new generation ($3 > $2): where each pipeline stood in the old one goes to generation_ends, then every given
-- position is set as is (a new log). The same generation: positions only move forward (greatest), so a reset
-- racing a running ingestor never moves it back over records it already wrote. Then the topic's generation.
WITH ended AS (
  INSERT INTO ingest.generation_ends (pipeline, topic, generation, "partition", next_offset)
  SELECT o.pipeline, o.topic, o.generation, o."partition", o.next_offset
  FROM ingest.consumer_offsets o
  WHERE o.topic = $1::text AND o.generation = $2::integer AND $3::integer > $2::integer
  ON CONFLICT (pipeline, topic, generation, "partition") DO NOTHING
  RETURNING 1
),
moved AS (
  INSERT INTO ingest.consumer_offsets AS o (pipeline, topic, "partition", next_offset, generation)
  SELECT m.pipeline, $1::text, m."partition", m.next_offset, $3::integer
  FROM unnest($4::text[], $5::integer[], $6::bigint[]) AS m(pipeline, "partition", next_offset)
  ORDER BY m.pipeline, m."partition"
  ON CONFLICT (pipeline, topic, "partition") DO UPDATE
  SET next_offset = CASE WHEN $3::integer > $2::integer THEN EXCLUDED.next_offset
                         ELSE greatest(o.next_offset, EXCLUDED.next_offset) END,
      generation = EXCLUDED.generation,
      updated_at = now()
  RETURNING 1
),
generation AS (
  UPDATE ingest.topic_generations
  SET generation = $3::integer,
      reset_id = CASE WHEN $3::integer > $2::integer THEN $7::bigint ELSE reset_id END,
      changed_at = now()
  WHERE topic = $1::text
  RETURNING 1
)
SELECT (SELECT count(*) FROM moved)::integer AS moved,
       (SELECT count(*) FROM ended)::integer AS ended,
       (SELECT count(*) FROM generation)::integer AS generations;
