-- name: calendar_observations
-- params: (none)
-- returns: advertiser_id text, event_ms text (bigint), budget_period text, time_zone text, topic text, generation integer, partition integer, offset text (bigint)
--
-- Every explicit calendar setting (budget_history rows that set a budget_period and/or time_zone, migration
-- 0020), per advertiser in log order (topic generation, topic, partition, offset): the rebuild folds them with
-- foldCalendar of @adpipe/core into the calendar in force and the record after which its period restarted.
-- Operators' decisions: few rows (partial index budget_history_calendar_idx).
SELECT h.advertiser_id,
       (extract(epoch FROM h.event_time) * 1000)::bigint::text AS event_ms,
       h.budget_period,
       h.time_zone,
       h.topic,
       h.topic_generation AS generation,
       h."partition",
       h."offset"::text AS "offset"
FROM gold.budget_history h
WHERE h.budget_period IS NOT NULL OR h.time_zone IS NOT NULL
ORDER BY h.advertiser_id, h.topic_generation, h.topic, h."partition", h."offset";
