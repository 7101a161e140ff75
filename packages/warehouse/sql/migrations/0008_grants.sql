-- version: 0008
-- previous: 0007
-- name: grants
--
-- Least privilege. adpipe_writer (ingestor, reprocessing, the tracker's rebuild queries): Bronze is
-- append-only; Silver/Gold/pipeline state read-write. adpipe_reader (reporting): Gold tables and views only.
-- Privileges on a partitioned table cover access through it, so on-demand partitions need no grants.
-- Login roles are created by operators and granted one of these (GRANT adpipe_writer TO ingestor_login).

GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA bronze TO adpipe_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA silver TO adpipe_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA gold TO adpipe_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ingest.consumer_offsets, ingest.click_registry TO adpipe_writer;
GRANT SELECT ON ingest.schema_migrations TO adpipe_writer;
GRANT EXECUTE ON FUNCTION ingest.prune_click_registry(timestamptz, integer) TO adpipe_writer;

GRANT SELECT ON ALL TABLES IN SCHEMA gold TO adpipe_reader;

-- Tables and views added by later migrations (run by the same owner) get the same grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA gold GRANT SELECT ON TABLES TO adpipe_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA gold GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO adpipe_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA silver GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO adpipe_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA bronze GRANT SELECT, INSERT ON TABLES TO adpipe_writer;
