-- version: 0005
-- previous: 0004
-- name: partitions
--
-- Day partitions of the large tables (Bronze, Silver), created on demand and dropped by retention.
-- Partition of day D holds kafka_timestamp in [D 00:00 UTC, D+1 00:00 UTC) and is named <table>_pYYYYMMDD.
-- New partitions are created as plain tables and then ATTACHed: ATTACH takes only SHARE UPDATE EXCLUSIVE
-- on the parent, so it does not queue behind (or block) concurrent inserts and reports.
-- Both functions are SECURITY DEFINER so the non-owner writer role can call them.

CREATE FUNCTION ingest.partitioned_tables()
RETURNS TABLE (schema_name text, table_name text)
LANGUAGE sql
IMMUTABLE
AS $$
  VALUES ('bronze', 'ad_click_events_raw'), ('silver', 'ad_click_events_clean'), ('silver', 'duplicate_clicks')
$$;

CREATE FUNCTION ingest.ensure_day_partitions(first_day date, last_day date)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t record;
  d date;
  part text;
  created integer := 0;
BEGIN
  IF first_day IS NULL OR last_day IS NULL OR last_day < first_day THEN
    RETURN 0;
  END IF;
  IF last_day - first_day > 400 THEN
    RAISE EXCEPTION 'refusing to create % day partitions at once', last_day - first_day + 1
      USING ERRCODE = 'program_limit_exceeded';
  END IF;
  -- Serialise creators (replicas, reprocessing) within this database.
  PERFORM pg_advisory_xact_lock(hashtext('adpipe.ensure_day_partitions'));
  FOR t IN SELECT * FROM ingest.partitioned_tables() LOOP
    d := first_day;
    WHILE d <= last_day LOOP
      part := t.table_name || '_p' || to_char(d, 'YYYYMMDD');
      IF to_regclass(format('%I.%I', t.schema_name, part)) IS NULL THEN
        EXECUTE format('CREATE TABLE %I.%I (LIKE %I.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
          t.schema_name, part, t.schema_name, t.table_name);
        EXECUTE format('ALTER TABLE %I.%I ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
          t.schema_name, t.table_name, t.schema_name, part,
          to_char(d, 'YYYY-MM-DD') || ' 00:00:00+00', to_char(d + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
        created := created + 1;
      END IF;
      d := d + 1;
    END LOOP;
  END LOOP;
  RETURN created;
END
$$;

-- Drops every day partition whose whole day is before cutoff_day (UTC). Returns the dropped names.
CREATE FUNCTION ingest.drop_day_partitions_before(cutoff_day date)
RETURNS SETOF text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p record;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('adpipe.ensure_day_partitions'));
  FOR p IN
    SELECT n.nspname AS schema_name, c.relname AS part
    FROM ingest.partitioned_tables() t
    JOIN pg_namespace pn ON pn.nspname = t.schema_name
    JOIN pg_class parent ON parent.relnamespace = pn.oid AND parent.relname = t.table_name
    JOIN pg_inherits i ON i.inhparent = parent.oid
    JOIN pg_class c ON c.oid = i.inhrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relname ~ '_p[0-9]{8}$'
      AND to_date(right(c.relname, 8), 'YYYYMMDD') < cutoff_day
    ORDER BY 1, 2
  LOOP
    EXECUTE format('DROP TABLE %I.%I', p.schema_name, p.part);
    RETURN NEXT p.schema_name || '.' || p.part;
  END LOOP;
END
$$;

REVOKE ALL ON FUNCTION ingest.ensure_day_partitions(date, date) FROM PUBLIC;
REVOKE ALL ON FUNCTION ingest.drop_day_partitions_before(date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION ingest.ensure_day_partitions(date, date) TO adpipe_writer;
