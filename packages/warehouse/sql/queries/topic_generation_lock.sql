-- name: topic_generation_lock
-- params: $1 topic text
-- returns: generation integer, reset_id text (bigint or NULL)
--
-- First statement of a reset transaction: creates the topic's generation row if missing (generation 0) and
-- row-locks it, so two resets of one topic (an operator and a service's RESET_POLICY) serialise here.
INSERT INTO ingest.topic_generations AS g (topic, generation)
VALUES ($1::text, 0)
ON CONFLICT (topic) DO UPDATE SET generation = g.generation
RETURNING g.generation, g.reset_id::text AS reset_id;
