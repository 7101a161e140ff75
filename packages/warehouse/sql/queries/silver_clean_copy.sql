-- name: silver_clean_copy
-- params: none
-- returns: nothing (COPY FROM STDIN: binary rows built by silver-copy.ts, in this column order)
--
-- Writes a batch's clean Silver rows (the records derived as 'clean') in the batch transaction, after
-- bronze_copy and before write_batch, which then writes only budget observations, Gold and the offsets. Binary
-- COPY instead of INSERT … SELECT FROM unnest of 40 column arrays: each field is read once by its receive
-- function and the rows go in as multi-row heap writes. The values are those write_batch's expressions compute
-- (money as NUMERIC from micros, times from epoch ms, error_codes/warnings as text[]). No conflict handling, as
-- in write_batch: a replay is excluded by the offsets lock, so a key conflict is a bug and fails the batch.
-- processed_at takes its default (now(): the transaction's start, as the INSERT in write_batch did).
COPY silver.ad_click_events_clean (
  event_type, click_id, advertiser, advertiser_id, ad_id, amount, budget_value, "timestamp", is_valid,
  ingest_year, ingest_month, ingest_day, ingest_hour, error_codes, warnings,
  gold_window_start, contrib_gross_micros, contrib_net_micros, contrib_records, contrib_valid_clicks,
  contrib_invalid_clicks, contrib_duplicate_clicks, topic, "partition", "offset", kafka_timestamp, topic_generation,
  contrib_over_cap_micros)
FROM STDIN (FORMAT binary);
