-- name: write_batch
-- params: $1 topics text[], $2 partitions integer[], $3 offsets bigint[], $4 kafka_ms bigint[], $5 record_keys bytea[], $6 payloads bytea[], $7 payload_bytes integer[], $8 payload_truncated boolean[], $9 rejection_reasons text[], $10 rejection_details text[], $11 event_types text[], $12 click_ids text[], $13 advertisers text[], $14 raw_advertiser_ids text[], $15 advertiser_ids text[], $16 ad_ids text[], $17 amount_micros bigint[], $18 budget_micros bigint[], $19 event_ms bigint[], $20 silver_kinds text[], $21 is_valid boolean[], $22 error_codes text[], $23 warnings text[], $24 ingest_years integer[], $25 ingest_months integer[], $26 ingest_days integer[], $27 ingest_hours integer[], $28 gold_window_ms bigint[], $29 c_gross bigint[], $30 c_net bigint[], $31 c_records integer[], $32 c_valid integer[], $33 c_invalid integer[], $34 c_duplicate integer[], $35 first_topics text[], $36 first_partitions integer[], $37 first_offsets bigint[], $38 g_advertiser_ids text[], $39 g_advertisers text[], $40 g_window_ms bigint[], $41 g_gross bigint[], $42 g_net bigint[], $43 g_records bigint[], $44 g_valid bigint[], $45 g_invalid bigint[], $46 g_duplicate bigint[], $47 g_last_event_ms bigint[], $48 b_advertiser_ids text[], $49 b_advertisers text[], $50 b_event_ms bigint[], $51 b_budget_micros bigint[], $52 b_sources text[], $53 b_topics text[], $54 b_partitions integer[], $55 b_offsets bigint[], $56 b_kafka_ms bigint[], $57 pipeline text, $58 o_topics text[], $59 o_partitions integer[], $60 o_next_offsets bigint[], $61 write_bronze boolean, $62 generations integer[], $63 first_generations integer[], $64 b_generations integer[], $65 c_over_cap bigint[], $66 g_over_cap bigint[], $67 b_modes text[], $68 b_periods text[], $69 b_time_zones text[], $70 default_time_zone text, $71 b_pacings text[]
-- returns: bronze integer, silver integer, duplicates integer, budgets integer, gold integer, offsets integer (rows written)
--
-- Writes one batch (already filtered against the stored offsets and deduplicated) in a single statement:
-- Bronze (every record, when $61), Silver clean/duplicate rows ($20 = 'clean' | 'duplicate' | NULL for rejected;
-- the ingestor and replay write both by COPY, bronze_copy and silver_*_copy, and pass empty per-record arrays),
-- budget observations ($52 = their source, api | budget_update | click; the event type follows from it; $67 the
-- budget mode an explicit update set, $68/$69 its budget period / time zone, $71 its pacing, NULL = unchanged), Gold delta upserts (amounts and counts added; $39 = the batch's last non-null advertiser
-- name of the window in partition order, NULL keeps the stored one) and the new offsets. Arrays $1-$37 are
-- aligned per record ($62, $63: the topic generation of the record and of its first occurrence, $65 its over_cap
-- part, too); $38-$47 and $66 per Gold key; $48-$56, $64 and $67 per budget observation; $58-$60 per partition. Money arrives as integer micros and becomes NUMERIC(20,6)
-- exactly (micros * 0.000001); c_net / g_net are the billable net and c_over_cap / g_over_cap the rest (the
-- billing clamp, applied by the caller with billableMicros of @adpipe/core); times arrive as epoch ms and become timestamptz exactly (epoch + ms * 1 ms).
-- Gold's local_spend_day: the local date of the hour's start in the advertiser's time zone in force at that start
-- (the latest time_zone setting by event time, ties the later lineage, among budget_history and this batch's own
-- updates; $70 = BUDGET_TIME_ZONE when none), recomputed on every upsert of the hour.
-- No ON CONFLICT on the lineage keys: the offsets row lock and filter already drop replays, so a conflict would
-- be a bug, and it fails the batch loudly instead of being skipped; the speculative insertion a DO NOTHING needs
-- cost Postgres ~5 µs per record. Reprocessing deletes the rows of its range before writing them again.
WITH rec AS (
  SELECT r.*,
         'epoch'::timestamptz + r.kafka_ms * interval '1 millisecond' AS kafka_timestamp,
         'epoch'::timestamptz + r.event_ms * interval '1 millisecond' AS event_time,
         'epoch'::timestamptz + r.gold_window_ms * interval '1 millisecond' AS gold_window_start,
         r.amount_micros * 0.000001 AS amount,
         r.budget_micros * 0.000001 AS budget_value
  FROM unnest(
    $1::text[], $2::integer[], $3::bigint[], $4::bigint[], $5::bytea[], $6::bytea[], $7::integer[], $8::boolean[],
    $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[],
    $17::bigint[], $18::bigint[], $19::bigint[], $20::text[], $21::boolean[], $22::text[], $23::text[],
    $24::integer[], $25::integer[], $26::integer[], $27::integer[], $28::bigint[], $29::bigint[], $30::bigint[],
    $31::integer[], $32::integer[], $33::integer[], $34::integer[], $35::text[], $36::integer[], $37::bigint[],
    $62::integer[], $63::integer[], $65::bigint[]
  ) AS r(topic, "partition", "offset", kafka_ms, record_key, payload, payload_bytes, payload_truncated,
         rejection_reason, rejection_detail, event_type, click_id, advertiser, raw_advertiser_id, advertiser_id, ad_id,
         amount_micros, budget_micros, event_ms, silver_kind, is_valid, error_codes, warnings,
         ingest_year, ingest_month, ingest_day, ingest_hour, gold_window_ms, c_gross, c_net,
         c_records, c_valid, c_invalid, c_duplicate, first_topic, first_partition, first_offset,
         topic_generation, first_generation, c_over_cap)
),
bronze_rows AS (
  INSERT INTO bronze.ad_click_events_raw (
    event_type, click_id, advertiser, advertiser_id, ad_id, amount, budget_value, "timestamp",
    topic, "partition", "offset", kafka_timestamp, record_key, raw_payload, payload_bytes, payload_truncated,
    parse_status, rejection_reason, rejection_detail, topic_generation)
  SELECT event_type, click_id, advertiser, raw_advertiser_id, ad_id, amount, budget_value, event_time,
         topic, "partition", "offset", kafka_timestamp, record_key, payload, payload_bytes, payload_truncated,
         CASE WHEN rejection_reason IS NULL THEN 'parsed' ELSE 'rejected' END, rejection_reason, rejection_detail,
         topic_generation
  FROM rec
  WHERE $61::boolean
  RETURNING 1
),
clean_rows AS (
  INSERT INTO silver.ad_click_events_clean (
    event_type, click_id, advertiser, advertiser_id, ad_id, amount, budget_value, "timestamp", is_valid,
    ingest_year, ingest_month, ingest_day, ingest_hour, error_codes, warnings,
    gold_window_start, contrib_gross_micros, contrib_net_micros, contrib_records, contrib_valid_clicks,
    contrib_invalid_clicks, contrib_duplicate_clicks, topic, "partition", "offset", kafka_timestamp, topic_generation,
    contrib_over_cap_micros)
  SELECT event_type, click_id, advertiser, advertiser_id, ad_id, amount, budget_value, event_time, is_valid,
         ingest_year, ingest_month, ingest_day, ingest_hour,
         string_to_array(error_codes, ','), string_to_array(warnings, ','),
         gold_window_start, c_gross, c_net, c_records, c_valid, c_invalid, c_duplicate,
         topic, "partition", "offset", kafka_timestamp, topic_generation, c_over_cap
  FROM rec
  WHERE silver_kind = 'clean'
  RETURNING 1
),
duplicate_rows AS (
  INSERT INTO silver.duplicate_clicks (
    event_type, click_id, advertiser, advertiser_id, ad_id, amount, budget_value, "timestamp", is_valid,
    ingest_year, ingest_month, ingest_day, ingest_hour, error_codes, warnings,
    gold_window_start, contrib_gross_micros, contrib_net_micros, contrib_records, contrib_valid_clicks,
    contrib_invalid_clicks, contrib_duplicate_clicks, first_topic, first_partition, first_offset,
    topic, "partition", "offset", kafka_timestamp, topic_generation, first_generation)
  SELECT event_type, click_id, advertiser, advertiser_id, ad_id, amount, budget_value, event_time, is_valid,
         ingest_year, ingest_month, ingest_day, ingest_hour,
         string_to_array(error_codes, ','), string_to_array(warnings, ','),
         gold_window_start, c_gross, c_net, c_records, c_valid, c_invalid, c_duplicate,
         first_topic, first_partition, first_offset, topic, "partition", "offset", kafka_timestamp,
         topic_generation, first_generation
  FROM rec
  WHERE silver_kind = 'duplicate'
  RETURNING 1
),
budget_rows AS (
  INSERT INTO gold.budget_history (
    advertiser_id, advertiser, event_time, budget_value, event_type, source, topic, "partition", "offset",
    kafka_timestamp, topic_generation, budget_mode, budget_period, time_zone, pacing)
  SELECT b.advertiser_id, b.advertiser, 'epoch'::timestamptz + b.event_ms * interval '1 millisecond',
         b.budget_micros * 0.000001, CASE WHEN b.source = 'click' THEN 'ad_click' ELSE 'budget_update' END,
         b.source, b.topic, b."partition", b."offset",
         'epoch'::timestamptz + b.kafka_ms * interval '1 millisecond', b.topic_generation, b.budget_mode,
         b.budget_period, b.time_zone, b.pacing
  FROM unnest($48::text[], $49::text[], $50::bigint[], $51::bigint[], $52::text[], $53::text[], $54::integer[],
              $55::bigint[], $56::bigint[], $64::integer[], $67::text[], $68::text[], $69::text[], $71::text[])
         AS b(advertiser_id, advertiser, event_ms, budget_micros, source, topic, "partition", "offset", kafka_ms,
              topic_generation, budget_mode, budget_period, time_zone, pacing)
  RETURNING 1
),
-- MATERIALIZED: inlined, the unnest of every budget observation ran again for each Gold key (~28 µs per event).
batch_zones AS MATERIALIZED (
  SELECT z.advertiser_id, 'epoch'::timestamptz + z.event_ms * interval '1 millisecond' AS event_time, z.time_zone,
         z.topic, z."partition", z."offset"
  FROM unnest($48::text[], $50::bigint[], $69::text[], $53::text[], $54::integer[], $55::bigint[])
         AS z(advertiser_id, event_ms, time_zone, topic, "partition", "offset")
  WHERE z.time_zone IS NOT NULL
),
gold_rows AS (
  INSERT INTO gold.advertiser_spend AS g (
    advertiser, advertiser_id, gross_spend, net_spend, record_count, window_start, window_end,
    spend_hour, spend_day, spend_month, valid_clicks, invalid_clicks, duplicate_clicks, last_event_time,
    over_cap_spend, local_spend_day)
  SELECT d.advertiser, d.advertiser_id, d.gross * 0.000001, d.net * 0.000001, d.records,
         w.ws, w.ws + interval '1 hour', w.ws, date_trunc('day', w.ws, 'UTC'), date_trunc('month', w.ws, 'UTC'),
         d.valid, d.invalid, d.duplicate,
         'epoch'::timestamptz + d.last_event_ms * interval '1 millisecond', d.over_cap * 0.000001,
         (w.ws AT TIME ZONE coalesce(
           (SELECT z.time_zone
            FROM (SELECT h.time_zone, h.event_time, h.topic, h."partition", h."offset"
                  FROM gold.budget_history h
                  WHERE h.advertiser_id = d.advertiser_id AND h.time_zone IS NOT NULL AND h.event_time <= w.ws
                  UNION ALL
                  SELECT b.time_zone, b.event_time, b.topic, b."partition", b."offset"
                  FROM batch_zones b
                  WHERE b.advertiser_id = d.advertiser_id AND b.event_time <= w.ws) z
            ORDER BY z.event_time DESC, z.topic DESC, z."partition" DESC, z."offset" DESC
            LIMIT 1),
           $70::text))::date
  FROM unnest($38::text[], $39::text[], $40::bigint[], $41::bigint[], $42::bigint[], $43::bigint[], $44::bigint[],
              $45::bigint[], $46::bigint[], $47::bigint[], $66::bigint[])
         AS d(advertiser_id, advertiser, window_ms, gross, net, records, valid, invalid, duplicate, last_event_ms,
              over_cap)
  CROSS JOIN LATERAL (SELECT 'epoch'::timestamptz + d.window_ms * interval '1 millisecond' AS ws) w
  ORDER BY d.advertiser_id, d.window_ms
  ON CONFLICT (advertiser_id, window_start) DO UPDATE SET
    advertiser       = coalesce(EXCLUDED.advertiser, g.advertiser),
    gross_spend      = g.gross_spend + EXCLUDED.gross_spend,
    net_spend        = g.net_spend + EXCLUDED.net_spend,
    over_cap_spend   = g.over_cap_spend + EXCLUDED.over_cap_spend,
    record_count     = g.record_count + EXCLUDED.record_count,
    valid_clicks     = g.valid_clicks + EXCLUDED.valid_clicks,
    invalid_clicks   = g.invalid_clicks + EXCLUDED.invalid_clicks,
    duplicate_clicks = g.duplicate_clicks + EXCLUDED.duplicate_clicks,
    last_event_time  = greatest(g.last_event_time, EXCLUDED.last_event_time),
    local_spend_day  = EXCLUDED.local_spend_day,
    updated_at       = now()
  RETURNING 1
),
offset_rows AS (
  UPDATE ingest.consumer_offsets o
  SET next_offset = n.next_offset, updated_at = now()
  FROM unnest($58::text[], $59::integer[], $60::bigint[]) AS n(topic, "partition", next_offset)
  WHERE o.pipeline = $57::text AND o.topic = n.topic AND o."partition" = n."partition"
  RETURNING 1
)
SELECT (SELECT count(*) FROM bronze_rows)::integer AS bronze,
       (SELECT count(*) FROM clean_rows)::integer AS silver,
       (SELECT count(*) FROM duplicate_rows)::integer AS duplicates,
       (SELECT count(*) FROM budget_rows)::integer AS budgets,
       (SELECT count(*) FROM gold_rows)::integer AS gold,
       (SELECT count(*) FROM offset_rows)::integer AS offsets;
