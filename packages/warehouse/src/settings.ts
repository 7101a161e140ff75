import { budgetPeriodEnvSchema, envVar, eventRulesEnvSchema, parseLimitsFromEnv } from "@adpipe/config";
import { z } from "zod";
import type { ServingRules } from "./batch-writer.js";
import type { ParseLimits } from "./derive.js";

/**
 * Environment variables of the rules every writer of Silver/Gold must share (the ingestor and `adpipe reprocess`;
 * the budget-tracker must use the same values): parse limits passed to @adpipe/core and the budget period.
 */
export const warehouseRulesEnvSchema = z.object({
  ...budgetPeriodEnvSchema.shape,
  ...eventRulesEnvSchema.shape,
  /** Retention of Bronze/Silver day partitions in days (0 = keep forever). */
  WAREHOUSE_RETENTION_DAYS: envVar.integer(0, 36_500).default(35),
  /** How long a click_id is remembered for deduplication, in days (see docs/warehouse.md). */
  CLICK_DEDUP_HORIZON_DAYS: envVar.integer(1, 36_500).default(8),
});
export type WarehouseRulesEnv = z.output<typeof warehouseRulesEnvSchema>;

export interface WarehouseRules extends ServingRules {
  readonly parseLimits: ParseLimits;
}

export function warehouseRulesFromEnv(env: WarehouseRulesEnv): WarehouseRules {
  return {
    budgetPeriod: env.BUDGET_PERIOD,
    timeZone: env.BUDGET_TIME_ZONE,
    parseLimits: parseLimitsFromEnv(env),
  };
}
