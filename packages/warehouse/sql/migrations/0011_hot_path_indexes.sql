-- version: 0011
-- previous: 0010
-- name: hot_path_indexes
--
-- Fewer B-tree indexes on the rows every event writes (issue 9: the ingestor's Postgres time per event).
-- Every B-tree on Silver and budget_history costs a random-order insert per event; the ones dropped here served
-- only range scans over time, which a BRIN index answers at a fraction of the upkeep because rows arrive in
-- roughly time order (event time within the lateness horizon of the Kafka record time):
--  * Silver's ("timestamp") index (period totals for the tracker's Redis rebuild, click ids of a period) becomes
--    BRIN; its (advertiser_id, "timestamp") index goes: per-advertiser drill-down and Gold rebuilds use the
--    (advertiser_id, gold_window_start) index, which is the event hour of every row that counts.
--  * budget_history's kafka_timestamp index (reprocessing deletes a Kafka time range) becomes BRIN.
-- The budget-in-force lookup keeps budget_history's primary key (advertiser_id, event_time, lineage).

DROP INDEX silver.ad_click_events_clean_advertiser_time_idx;
DROP INDEX silver.ad_click_events_clean_time_idx;
CREATE INDEX ad_click_events_clean_time_brin
  ON silver.ad_click_events_clean USING brin ("timestamp") WITH (autosummarize = on);

DROP INDEX gold.budget_history_lineage_idx;
CREATE INDEX budget_history_lineage_brin
  ON gold.budget_history USING brin (kafka_timestamp) WITH (autosummarize = on);
