import { BUDGET_PERIODS, canonicalTimeZone, DEFAULT_BUDGET_PERIOD, DEFAULT_TIME_ZONE } from "@adpipe/core";
import { z } from "zod";

function isTimeZone(zone: string): boolean {
  try {
    canonicalTimeZone(zone);
    return true;
  } catch {
    return false;
  }
}

/**
 * The budget period every advertiser's budget covers, and the zone its boundaries fall in. The tracker, the
 * ingestor, the API and the CLI read them from this one schema: stores that cut periods differently would
 * disagree about what an advertiser may still spend.
 */
export const budgetPeriodEnvSchema = z.object({
  BUDGET_PERIOD: z.enum(BUDGET_PERIODS).default(DEFAULT_BUDGET_PERIOD),
  /** IANA zone of the period boundaries (day and month periods start at local midnight). */
  BUDGET_TIME_ZONE: z
    .string()
    .default(DEFAULT_TIME_ZONE)
    .refine(isTimeZone, "expected an IANA time zone name"),
});
export type BudgetPeriodEnv = z.output<typeof budgetPeriodEnvSchema>;
