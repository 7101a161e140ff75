-- version: 0014
-- previous: 0013
-- name: budget_modes
--
-- Hard budget caps (docs/core.md, "Budget modes and the billing clamp"). Each advertiser bills in `observe` (every
-- valid click in full, the default) or `hard_cap` (clicks are billable in partition order while the period's
-- billable net stays within the budget; the part of a click beyond it is over_cap):
--  * budget_history.budget_mode: the mode an explicit budget update set (NULL: it left the mode as it was; click-
--    carried observations never set one). The mode in force is that of the latest such row by event time, ties the
--    later lineage (supersedesMode of @adpipe/core): gold.mode_in_force.
--  * Silver's contrib_over_cap_micros: the part of the row's click that was not billed (contrib_net_micros is the
--    billable part), so reprocessing subtracts from Gold exactly what the row once added.
--  * gold.advertiser_spend.over_cap_spend: the hour's over_cap amount (net_spend stays the billable net; gross_spend
--    still counts every click in full).
-- Existing rows bill in observe (no mode recorded), which is what they were billed under: nothing to backfill.
-- Constant defaults: no table rewrite.

ALTER TABLE gold.budget_history
  ADD COLUMN budget_mode text CHECK (budget_mode IN ('observe', 'hard_cap'));
COMMENT ON COLUMN gold.budget_history.budget_mode IS
  'observe | hard_cap: the budget mode this explicit budget update set; NULL leaves the mode in force unchanged.';

-- Mode changes are operators' decisions (few): one probe answers "latest mode before t".
CREATE INDEX budget_history_mode_idx
  ON gold.budget_history (advertiser_id, event_time, topic, "partition", "offset")
  WHERE budget_mode IS NOT NULL;

ALTER TABLE silver.ad_click_events_clean
  ADD COLUMN contrib_over_cap_micros bigint NOT NULL DEFAULT 0 CHECK (contrib_over_cap_micros >= 0);
ALTER TABLE silver.duplicate_clicks
  ADD COLUMN contrib_over_cap_micros bigint NOT NULL DEFAULT 0 CHECK (contrib_over_cap_micros = 0);
COMMENT ON COLUMN silver.ad_click_events_clean.contrib_over_cap_micros IS
  'Part of the click''s net amount beyond a hard_cap budget (billableMicros): counted in gold over_cap_spend, never in net.';

ALTER TABLE gold.advertiser_spend
  ADD COLUMN over_cap_spend numeric(20, 6) NOT NULL DEFAULT 0 CHECK (over_cap_spend >= 0);
COMMENT ON COLUMN gold.advertiser_spend.over_cap_spend IS
  'Valid spend of the hour beyond the advertiser''s hard_cap budget: in gross_spend, never billed (not in net_spend).';

-- The budget mode in force just before an instant (observations with event_time < p_before; 'infinity' for all),
-- by supersedesMode: the latest explicit mode by event time, ties the later lineage. No row: observe.
CREATE FUNCTION gold.mode_in_force(p_advertiser_id text, p_before timestamptz)
RETURNS TABLE (budget_mode text, event_time timestamptz)
LANGUAGE sql STABLE
AS $$
  SELECT h.budget_mode, h.event_time
  FROM gold.budget_history h
  WHERE h.advertiser_id = p_advertiser_id AND h.budget_mode IS NOT NULL AND h.event_time < p_before
  ORDER BY h.event_time DESC, h.topic DESC, h."partition" DESC, h."offset" DESC
  LIMIT 1
$$;
REVOKE ALL ON FUNCTION gold.mode_in_force(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION gold.mode_in_force(text, timestamptz) TO adpipe_reader, adpipe_writer;
