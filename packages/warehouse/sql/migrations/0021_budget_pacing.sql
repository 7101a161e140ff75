-- version: 0021
-- previous: 0020
-- name: budget_pacing
--
-- Per-advertiser pacing in the warehouse (docs/realtime.md, "Pacing"): an explicit budget update may set the
-- advertiser's `pacing` (asap | even | shaped), kept like budget_mode so that a rebuild of the real-time state
-- from the warehouse restores it (without it a rebuilt advertiser paced `even` would spend asap).
--  * budget_history.pacing: the pacing this update set (NULL: it left the pacing as it was; click-carried
--    observations never set one). The pacing in force is that of the latest such row by event time, ties the
--    later record (supersedesSetting of @adpipe/core): gold.pacing_in_force.
-- Existing rows set no pacing (none could be stored before): nothing to backfill. A nullable column without a
-- default: no table rewrite.

ALTER TABLE gold.budget_history
  ADD COLUMN pacing text CHECK (pacing IN ('asap', 'even', 'shaped'));
COMMENT ON COLUMN gold.budget_history.pacing IS
  'asap | even | shaped: the pacing this explicit budget update set; NULL leaves the pacing in force unchanged.';

-- Pacing changes are operators' decisions (few): one probe answers "latest pacing before t".
CREATE INDEX budget_history_pacing_idx
  ON gold.budget_history (advertiser_id, event_time, topic, "partition", "offset")
  WHERE pacing IS NOT NULL;

CREATE FUNCTION gold.pacing_in_force(p_advertiser_id text, p_before timestamptz)
RETURNS TABLE (pacing text, event_time timestamptz)
LANGUAGE sql STABLE
AS $$
  SELECT h.pacing, h.event_time
  FROM gold.budget_history h
  WHERE h.advertiser_id = p_advertiser_id AND h.pacing IS NOT NULL AND h.event_time < p_before
  ORDER BY h.event_time DESC, h.topic DESC, h."partition" DESC, h."offset" DESC
  LIMIT 1
$$;
REVOKE ALL ON FUNCTION gold.pacing_in_force(text, timestamptz) FROM PUBLIC;
-- Every role that reads period_spend_by_advertiser, which calls it (the tracker's rebuild, the alerter).
GRANT EXECUTE ON FUNCTION gold.pacing_in_force(text, timestamptz) TO adpipe_reader, adpipe_writer, adpipe_alerter;
