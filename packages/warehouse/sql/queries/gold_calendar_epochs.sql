-- name: gold_calendar_epochs
-- params: $1 advertiser_ids text[]
-- returns: advertiser_id text, settings json (array of [event_ms text, budget_period, time_zone, topic, generation, partition, offset text] in log order)
--
-- The explicit calendar settings of the given advertisers in log order (topic generation, topic, partition,
-- offset), for gold_reevaluate_serving: the writer folds them with calendarEpochs of @adpipe/core; an advertiser
-- absent here (most) or whose settings never change the calendar in force keeps the service-wide path. One probe
-- of the partial index budget_history_calendar_idx per advertiser (operators' decisions: few rows).
SELECT h.advertiser_id,
       json_agg(json_build_array(
         (extract(epoch FROM h.event_time) * 1000)::bigint::text, h.budget_period, h.time_zone, h.topic,
         h.topic_generation, h."partition", h."offset"::text)
       ORDER BY h.topic_generation, h.topic, h."partition", h."offset") AS settings
FROM gold.budget_history h
WHERE h.advertiser_id = ANY($1::text[]) AND (h.budget_period IS NOT NULL OR h.time_zone IS NOT NULL)
GROUP BY h.advertiser_id;
