import { budgetPeriodEnvSchema, envVar } from "@adpipe/config";
import { DEFAULT_KEY_PREFIX, MAX_RESERVATION_TTL_MS } from "@adpipe/serving-client";
import { z } from "zod";
import { DEFAULT_DEDUP_HORIZON_MS } from "./store-context.js";

/**
 * Environment variables that shape the spend store; shared by the budget-tracker and the CLI so both read the
 * same state the same way (@adpipe/store-sync adds WAREHOUSE_PIPELINE for rebuild and reconcile).
 */
export const spendStoreEnvSchema = z.object({
  /** Prefix of every Redis key (`<prefix>adv:{<advertiser_id>}` ...). One topic per prefix. */
  REDIS_KEY_PREFIX: z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9:_.-]*$/, "expected letters, digits and : _ . -")
    .default(DEFAULT_KEY_PREFIX),
  ...budgetPeriodEnvSchema.shape,
  /**
   * click_id dedup sets live until their budget period ends plus this (for lifetime budgets: until the UTC
   * day of the click ends plus this). A duplicate arriving later is not recognised.
   */
  DEDUP_HORIZON_MS: envVar.integer(60_000, 366 * 86_400_000).default(DEFAULT_DEDUP_HORIZON_MS),
  /**
   * After a rebuild replaced the state (and with it every outstanding reservation), hard_cap reservations are
   * refused (`unavailable`) this long: a lost reservation's click may still arrive until its TTL ends. Must be
   * at least the longest ttlMs the ad servers reserve with.
   */
  /**
   * Pacing (`even`, `shaped`): how far above the target curve spend may run before the advertiser is held back
   * (reason ahead_of_pace), in percent of the budget (0..100, up to two decimals). Default 5.
   */
  PACING_TOLERANCE_PCT: z.coerce.number().min(0).max(100).default(5),
  RESERVATION_HOLD_MS: envVar.integer(0, MAX_RESERVATION_TTL_MS).default(MAX_RESERVATION_TTL_MS),
});
export type SpendStoreEnv = z.output<typeof spendStoreEnvSchema>;
