import { envVar } from "@adpipe/config";
import { BUDGET_PERIODS, canonicalTimeZone, DEFAULT_PARSE_OPTIONS, parseMoneyToMicros } from "@adpipe/core";
import { z } from "zod";
import type { ServingRules } from "./batch-writer.js";
import type { ParseLimits } from "./derive.js";

/**
 * Environment variables of the rules every writer of Silver/Gold must share (the ingestor and `adpipe reprocess`;
 * the budget-tracker must use the same values): parse limits passed to @adpipe/core and the budget period.
 */
export const warehouseRulesEnvSchema = z.object({
  BUDGET_PERIOD: z.enum(BUDGET_PERIODS).default("day"),
  BUDGET_TIME_ZONE: z
    .string()
    .default("UTC")
    .refine((zone) => {
      try {
        canonicalTimeZone(zone);
        return true;
      } catch {
        return false;
      }
    }, "expected an IANA time zone name"),
  EVENT_MAX_FUTURE_SKEW_MS: envVar.integer(0, 86_400_000).default(DEFAULT_PARSE_OPTIONS.maxFutureSkewMs),
  EVENT_LATENESS_HORIZON_MS: envVar
    .integer(60_000, 366 * 86_400_000)
    .default(DEFAULT_PARSE_OPTIONS.latenessHorizonMs),
  /** Largest click amount in currency units (decimal), e.g. 1000. */
  EVENT_MAX_AMOUNT: z
    .string()
    .default("1000")
    .transform((value, ctx) => {
      const parsed = parseMoneyToMicros(value);
      if (!parsed.ok || parsed.micros <= 0) {
        ctx.addIssue({ code: "custom", message: "expected a positive decimal amount" });
        return z.NEVER;
      }
      return parsed.micros;
    }),
  EVENT_MAX_PAYLOAD_BYTES: envVar.integer(64, 1_048_576).default(DEFAULT_PARSE_OPTIONS.maxPayloadBytes),
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
    parseLimits: {
      maxFutureSkewMs: env.EVENT_MAX_FUTURE_SKEW_MS,
      latenessHorizonMs: env.EVENT_LATENESS_HORIZON_MS,
      maxAmountMicros: env.EVENT_MAX_AMOUNT,
      maxPayloadBytes: env.EVENT_MAX_PAYLOAD_BYTES,
    },
  };
}
