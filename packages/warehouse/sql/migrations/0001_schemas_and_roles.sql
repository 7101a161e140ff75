-- version: 0001
-- previous: none
-- name: schemas_and_roles
--
-- The medallion schemas, the pipeline-state schema and the two least-privilege group roles.
-- Roles are cluster-wide while databases (and test databases) are not, so role creation must be
-- idempotent and survive a concurrent migration in another database creating the same role:
-- the loser of that race gets unique_violation / duplicate_object, which is the desired end state.

CREATE SCHEMA IF NOT EXISTS bronze;
CREATE SCHEMA IF NOT EXISTS silver;
CREATE SCHEMA IF NOT EXISTS gold;
CREATE SCHEMA IF NOT EXISTS ingest;

COMMENT ON SCHEMA bronze IS 'Every Kafka record as received (raw payload, lineage, rejection reason).';
COMMENT ON SCHEMA silver IS 'Parsed events with data-quality findings; one spend row per click_id.';
COMMENT ON SCHEMA gold IS 'Hourly spend per advertiser, budget history and the reporting views.';
COMMENT ON SCHEMA ingest IS 'Pipeline state: consumer offsets, click_id dedup registry, migrations.';

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'adpipe_writer') THEN
    CREATE ROLE adpipe_writer NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- created concurrently by a migration in another database
END
$$;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'adpipe_reader') THEN
    CREATE ROLE adpipe_reader NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;
END
$$;

-- The writer (ingestor, reprocessing) reads and writes every layer; the reader (reporting) sees Gold only.
GRANT USAGE ON SCHEMA bronze, silver, gold, ingest TO adpipe_writer;
GRANT USAGE ON SCHEMA gold TO adpipe_reader;
