-- name: offset_reset_mark
-- params: $1 id bigint, $2 step text ('warehouse' | 'tracker' | 'completed' | 'abandoned')
-- returns: status text (NULL when no unfinished row has that id)
--
-- Records a step of a reset in its audit row; 'completed' and 'abandoned' close it.
UPDATE ingest.offset_resets
SET warehouse_applied_at = CASE WHEN $2::text = 'warehouse' THEN coalesce(warehouse_applied_at, now())
                                ELSE warehouse_applied_at END,
    tracker_applied_at = CASE WHEN $2::text = 'tracker' THEN coalesce(tracker_applied_at, now())
                              ELSE tracker_applied_at END,
    status = CASE WHEN $2::text IN ('completed', 'abandoned') THEN $2::text ELSE status END,
    completed_at = CASE WHEN $2::text IN ('completed', 'abandoned') THEN now() ELSE completed_at END
WHERE id = $1::bigint AND status = 'started'
RETURNING status;
