-- version: 0022
-- previous: 0021
-- name: serving_reason
--
-- decideServing of @adpipe/core for a Gold row, written once in SQL: why the row's advertiser may not be served
-- (NULL: it may). Both Gold re-evaluation statements (gold_reevaluate_serving.sql and its calendar variant) call
-- it instead of each spelling the CASE out. A single-SELECT IMMUTABLE SQL function: the planner inlines it, so
-- the statements cost what they did with the expression written in place.
--   no_budget        = no budget in force, or a budget of 0;
--   budget_exhausted = period-to-date net >= budget;
-- can_serve is `gold.serving_reason(...) IS NULL`.

CREATE FUNCTION gold.serving_reason(budget_value numeric, period_net numeric) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE
           WHEN budget_value IS NULL OR budget_value = 0 THEN 'no_budget'
           WHEN period_net < budget_value THEN NULL
           ELSE 'budget_exhausted'
         END
$$;
COMMENT ON FUNCTION gold.serving_reason(numeric, numeric) IS
  'decideServing of @adpipe/core for a Gold row: no_budget | budget_exhausted | NULL (may be served).';
