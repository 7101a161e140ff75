-- name: silver_duplicate_copy
-- params: none
-- returns: nothing (COPY FROM STDIN: binary rows built by silver-copy.ts, in this column order)
--
-- Writes a batch's silver.duplicate_clicks rows (the records derived as 'duplicate') in the batch transaction,
-- beside silver_clean_copy (see there). contrib_over_cap_micros takes its default (0), as in write_batch.
COPY silver.duplicate_clicks (
  event_type, click_id, advertiser, advertiser_id, ad_id, amount, budget_value, "timestamp", is_valid,
  ingest_year, ingest_month, ingest_day, ingest_hour, error_codes, warnings,
  gold_window_start, contrib_gross_micros, contrib_net_micros, contrib_records, contrib_valid_clicks,
  contrib_invalid_clicks, contrib_duplicate_clicks, first_topic, first_partition, first_offset,
  topic, "partition", "offset", kafka_timestamp, topic_generation, first_generation)
FROM STDIN (FORMAT binary);
