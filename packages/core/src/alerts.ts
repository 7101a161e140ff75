import { z } from "zod";
import { CoreError } from "./errors.js";

/**
 * Budget alerts (docs/alerts.md). Each kind fires at most once per advertiser, budget period and threshold.
 *  * `budget_threshold`: the period's billable net reached `threshold_pct` % of the budget in force.
 *  * `ahead_of_pace`: the tracker held the advertiser back for pacing (read from Redis); threshold 0.
 *  * `exhausted_early`: exhaustion forecast before 80 % of the period; threshold 0.
 */
export const ALERT_KINDS = ["budget_threshold", "ahead_of_pace", "exhausted_early"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** The thresholds an advertiser gets unless it sets its own: 50 %, 80 % and 100 % of the budget. */
export const DEFAULT_ALERT_THRESHOLDS_PCT: readonly number[] = Object.freeze([50, 80, 100]);
/** Highest threshold accepted (1000 % of the budget: overspend alerts for observe-mode advertisers). */
export const MAX_ALERT_THRESHOLD_PCT = 1000;
/** At most this many thresholds per advertiser. */
export const MAX_ALERT_THRESHOLDS = 10;

/** A threshold list: 1..10 distinct whole percentages in 1..1000 (sorted by alertThresholds). */
export const alertThresholdsSchema = z
  .array(z.number().int().min(1).max(MAX_ALERT_THRESHOLD_PCT))
  .min(1)
  .max(MAX_ALERT_THRESHOLDS)
  .refine((list) => new Set(list).size === list.length, { message: "thresholds must be distinct" });

/** Validates and sorts a threshold list. Throws CoreError invalid_options naming the problem. */
export function alertThresholds(list: readonly number[]): number[] {
  const parsed = alertThresholdsSchema.safeParse(list);
  if (!parsed.success) {
    throw new CoreError(
      "invalid_options",
      `alert thresholds must be 1..${MAX_ALERT_THRESHOLDS} distinct whole percentages in 1..${MAX_ALERT_THRESHOLD_PCT}: ${parsed.error.issues[0]?.message ?? "invalid"}`,
    );
  }
  return [...parsed.data].sort((a, b) => a - b);
}

/**
 * The thresholds (percent of the budget) a period's billable net has reached: every t with
 * net × 100 ≥ t × budget, in exact integer arithmetic (BigInt: net and budget are micros up to 2^53).
 * None without a positive budget (an advertiser with no budget or a zero budget is not serving anyway:
 * no_budget is its own state, not an alert).
 */
export function crossedThresholds(
  netMicros: number,
  budgetMicros: number | null,
  thresholdsPct: readonly number[],
): number[] {
  if (!Number.isSafeInteger(netMicros))
    throw new CoreError("unsafe_integer", `net ${netMicros} is not a safe integer`);
  if (budgetMicros === null || budgetMicros <= 0) return [];
  if (!Number.isSafeInteger(budgetMicros))
    throw new CoreError("unsafe_integer", `budget ${budgetMicros} is not a safe integer`);
  const scaledNet = BigInt(netMicros) * 100n;
  const budget = BigInt(budgetMicros);
  return alertThresholds(thresholdsPct).filter((pct) => scaledNet >= BigInt(pct) * budget);
}

/** The identity of one alert: what makes it fire at most once. */
export interface AlertKey {
  readonly advertiserId: string;
  /** Budget period id (budgetPeriodOf). */
  readonly periodId: string;
  readonly kind: AlertKind;
  /** Percent of the budget for budget_threshold; 0 for the other kinds. */
  readonly thresholdPct: number;
}

/** A stable string of an alert's identity (sorting, sets in tests). */
export function alertKeyOf(key: AlertKey): string {
  return `${key.advertiserId}|${key.periodId}|${key.kind}|${key.thresholdPct}`;
}

/**
 * The alert event as published on the alerts topic and POSTed to webhooks (schema_version 1). `event_id` is
 * assigned once when the alert fires (stored with it) and is the same on every delivery: consumers deduplicate on it.
 */
export const alertEventSchema = z.object({
  schema_version: z.literal(1),
  event_id: z.uuid(),
  kind: z.enum(ALERT_KINDS),
  advertiser_id: z.string().min(1),
  advertiser: z.string().nullable(),
  budget_period: z.string().min(1),
  period_start: z.iso.datetime(),
  period_end: z.iso.datetime(),
  threshold_pct: z.number().int().min(0).max(MAX_ALERT_THRESHOLD_PCT),
  /** Period-to-date billable net when the alert was detected (micros, decimal string: exact beyond 2^53). */
  period_net_micros: z.string().regex(/^-?\d+$/),
  budget_micros: z.string().regex(/^\d+$/),
  fired_at: z.iso.datetime(),
});
export type AlertEvent = z.output<typeof alertEventSchema>;
