-- name: bronze_copy
-- params: none
-- returns: nothing (COPY FROM STDIN: binary rows built by bronze-copy.ts, in this column order)
--
-- Writes a batch's Bronze rows (already filtered against the stored offsets) in the batch transaction, before
-- write_batch, which then writes Silver, Gold, budget observations and the offsets with $61 = false. Binary
-- COPY instead of INSERT … SELECT FROM unnest: Postgres inserts the rows in multi-row heap writes, and the
-- payload bytes reach it once, not as an array element of a bind parameter. No conflict handling, as in
-- write_batch: a replay is excluded by the offsets lock, so a key conflict is a bug and fails the batch.
-- ingested_at takes its default (now(): the transaction's start, as an INSERT in the same transaction would).
COPY bronze.ad_click_events_raw (
  event_type, click_id, advertiser, advertiser_id, ad_id, amount, budget_value, "timestamp",
  topic, "partition", "offset", kafka_timestamp, record_key, raw_payload, payload_bytes, payload_truncated,
  parse_status, rejection_reason, rejection_detail, topic_generation)
FROM STDIN (FORMAT binary);
