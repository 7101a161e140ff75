-- version: 0013
-- previous: 0012
-- name: topic_generations
--
-- Topic resets. A topic that is deleted and recreated (or restored elsewhere) starts a new log whose
-- offsets begin again at 0: (topic, partition, offset) no longer names one record. Each such log is a
-- *generation* of the topic (0 = the first). Lineage carries it, so records of a new log never collide with, and
-- are never taken for replays of, the rows of an older one:
--  * topic_generations: the warehouse's current generation per topic (absent = 0). `adpipe offsets reset` (or a
--    service with RESET_POLICY=earliest) moves it forward; running services poll it and resume on the new log.
--  * consumer_offsets.generation: the generation the stored next offset belongs to. A batch that believes in
--    another generation than the locked row holds is refused (a replica that missed the reset).
--  * generation_ends: where each pipeline stood in a generation when it was left (the lake export finishes
--    exporting the old generation up to there).
--  * topic_generation in Bronze, Silver, duplicate_clicks, budget_history and click_registry; first_generation in
--    duplicate_clicks. The Bronze/Silver keys become (topic, partition, topic_generation, offset, kafka_timestamp):
--    the export reads one generation of a partition in offset order through that index.
--  * topic_reset_detections: a service that finds its stored position beyond the log end (or the log otherwise
--    replaced) records it here, for `adpipe status`, the dashboard and the reset command; cleared by the reset.
--  * offset_resets: the audit of every reset (who, when, why, what moved), append-only for the writer role
--    except for the status of its own unfinished row.
-- Existing rows are generation 0 (a constant default: no table rewrite). Rebuilding the Bronze/Silver primary
-- keys reads those tables once; on a large warehouse run this migration in a maintenance window.

CREATE TABLE ingest.topic_generations (
  topic       text        PRIMARY KEY,
  generation  integer     NOT NULL CHECK (generation >= 0),
  -- The offset_resets row that started this generation (NULL for generation 0).
  reset_id    bigint,
  changed_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ingest.topic_generations IS
  'Current generation (log incarnation) of each topic in the warehouse; absent = 0.';

ALTER TABLE ingest.consumer_offsets
  ADD COLUMN generation integer NOT NULL DEFAULT 0 CHECK (generation >= 0);
COMMENT ON COLUMN ingest.consumer_offsets.generation IS
  'Generation of the topic log next_offset refers to (see ingest.topic_generations).';

CREATE TABLE ingest.generation_ends (
  pipeline    text        NOT NULL,
  topic       text        NOT NULL,
  generation  integer     NOT NULL CHECK (generation >= 0),
  "partition" integer     NOT NULL CHECK ("partition" >= 0),
  next_offset bigint      NOT NULL CHECK (next_offset >= 0),
  ended_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (pipeline, topic, generation, "partition")
);
COMMENT ON TABLE ingest.generation_ends IS
  'Where each pipeline stood in a generation of a topic when a reset moved it to the next one.';

CREATE TABLE ingest.topic_reset_detections (
  service          text        NOT NULL CHECK (service IN ('ingestor', 'budget-tracker', 'delta-exporter')),
  -- The consumer group (ingestor, tracker) or lake (exporter) whose position is affected.
  consumer         text        NOT NULL CHECK (length(consumer) BETWEEN 1 AND 1000),
  topic            text        NOT NULL,
  "partition"      integer     NOT NULL CHECK ("partition" >= 0),
  generation       integer     NOT NULL DEFAULT 0,
  stored_offset    bigint,
  log_start_offset bigint,
  log_end_offset   bigint,
  reason           text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 64),
  detail           text        CHECK (length(detail) <= 1000),
  detected_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (service, consumer, topic, "partition")
);
COMMENT ON TABLE ingest.topic_reset_detections IS
  'Partitions whose stored position a service found beyond the log (topic reset); cleared by adpipe offsets reset.';

CREATE TABLE ingest.offset_resets (
  id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic        text        NOT NULL,
  -- --to: earliest | latest | an ISO-8601 instant.
  target       text        NOT NULL CHECK (length(target) BETWEEN 1 AND 64),
  -- Who: the operator (--actor, else user@host of the CLI) or the service applying RESET_POLICY=earliest.
  actor        text        NOT NULL CHECK (length(actor) BETWEEN 1 AND 200),
  -- Why: --reason, else what was detected.
  reason       text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  -- cli: adpipe offsets reset; reset_policy: a service under RESET_POLICY=earliest; supervisor: npm start that
  -- created the topic anew on its local broker.
  source       text        NOT NULL CHECK (source IN ('cli', 'reset_policy', 'supervisor')),
  -- Per store and partition: positions and generations before and after (the plan applied).
  plan         jsonb       NOT NULL,
  status       text        NOT NULL CHECK (status IN ('started', 'completed', 'abandoned')),
  started_at   timestamptz NOT NULL DEFAULT now(),
  warehouse_applied_at timestamptz,
  tracker_applied_at   timestamptz,
  completed_at timestamptz
);
-- At most one unfinished reset per topic: a second operator (or a crashed run) is told to finish that one.
CREATE UNIQUE INDEX offset_resets_unfinished_idx ON ingest.offset_resets (topic) WHERE status = 'started';
CREATE INDEX offset_resets_topic_idx ON ingest.offset_resets (topic, id DESC);
COMMENT ON TABLE ingest.offset_resets IS
  'Audit of topic offset resets (adpipe offsets reset, RESET_POLICY=earliest): who, when, why and what moved.';

ALTER TABLE bronze.ad_click_events_raw ADD COLUMN topic_generation integer NOT NULL DEFAULT 0;
ALTER TABLE silver.ad_click_events_clean ADD COLUMN topic_generation integer NOT NULL DEFAULT 0;
ALTER TABLE silver.duplicate_clicks
  ADD COLUMN topic_generation integer NOT NULL DEFAULT 0,
  ADD COLUMN first_generation integer;
ALTER TABLE gold.budget_history ADD COLUMN topic_generation integer NOT NULL DEFAULT 0;
ALTER TABLE ingest.click_registry ADD COLUMN topic_generation integer NOT NULL DEFAULT 0;

ALTER TABLE bronze.ad_click_events_raw
  DROP CONSTRAINT ad_click_events_raw_pkey,
  ADD PRIMARY KEY (topic, "partition", topic_generation, "offset", kafka_timestamp);
ALTER TABLE silver.ad_click_events_clean
  DROP CONSTRAINT ad_click_events_clean_pkey,
  ADD PRIMARY KEY (topic, "partition", topic_generation, "offset", kafka_timestamp);
ALTER TABLE silver.duplicate_clicks
  DROP CONSTRAINT duplicate_clicks_pkey,
  ADD PRIMARY KEY (topic, "partition", topic_generation, "offset", kafka_timestamp);
-- Generation last: the budget-in-force lookups order by (event_time, topic, partition, offset) and keep using
-- this index as they did.
ALTER TABLE gold.budget_history
  DROP CONSTRAINT budget_history_pkey,
  ADD PRIMARY KEY (advertiser_id, event_time, topic, "partition", "offset", topic_generation);

COMMENT ON TABLE bronze.ad_click_events_raw IS
  'Every Kafka record as received; unique per (topic, partition, topic_generation, offset). Partitioned by day of kafka_timestamp.';
COMMENT ON COLUMN bronze.ad_click_events_raw.topic_generation IS
  'Generation of the topic log the record came from (ingest.topic_generations; 0 until the topic was reset).';

-- The lake export's progress is per generation too (a new log is a new stream to export).
ALTER TABLE ingest.lake_export_offsets ADD COLUMN generation integer NOT NULL DEFAULT 0;
ALTER TABLE ingest.lake_export_offsets
  DROP CONSTRAINT lake_export_offsets_pkey,
  ADD PRIMARY KEY (lake, table_name, topic, generation, "partition");

GRANT SELECT, INSERT, UPDATE ON ingest.topic_generations, ingest.generation_ends, ingest.offset_resets
  TO adpipe_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ingest.topic_reset_detections TO adpipe_writer;
-- The API's pipeline health shows detected resets on the dashboard: that table only.
GRANT USAGE ON SCHEMA ingest TO adpipe_api;
GRANT SELECT ON ingest.topic_reset_detections TO adpipe_api;
