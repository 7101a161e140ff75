import { BUDGET_MODES, BUDGET_PERIODS, type BudgetMode, type BudgetPeriod } from "@adpipe/core";
import fc from "fast-check";
import type { KafkaRecord } from "../src/records.js";

/**
 * Arbitrary logs for the billing clamp's store tests: clicks (repeated ids are duplicates, some invalid, event
 * times over three days so late clicks bill against earlier periods), explicit budget updates with or without a
 * mode, click-carried budgets, for two advertisers on one partition, with the budget period and time zone of
 * the run (zones off whole hours make periods cut through Gold's UTC hours). Some updates set the advertiser's
 * own budget_period and/or time_zone (clickPeriodOf of @adpipe/core: a change restarts the period).
 */

const H = 3_600_000;
/** Midnight UTC; event hours range over the day before to the day after. */
export const BILLING_DAY = Date.UTC(2026, 10, 25);

export type BillingLogEntry =
  | {
      kind: "click";
      advertiser: number;
      id: number;
      amountMicros: number;
      minute: number;
      valid: boolean;
      budgetMicros: number | null;
    }
  | {
      kind: "update";
      advertiser: number;
      budgetMicros: number;
      mode: BudgetMode | null;
      minute: number;
      api: boolean;
      /** The advertiser's own calendar this update sets (null: it leaves that setting as it is). */
      budgetPeriod?: BudgetPeriod | null;
      timeZone?: string | null;
    };

const ZONES = ["UTC", "Asia/Kolkata", "America/New_York", "Asia/Kathmandu"] as const;

const minute = fc.integer({ min: -30 * 60, max: 40 * 60 });
const advertiser = fc.integer({ min: 0, max: 1 });

export const billingLogEntry: fc.Arbitrary<BillingLogEntry> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("click" as const),
      advertiser,
      id: fc.integer({ min: 0, max: 40 }),
      amountMicros: fc.integer({ min: 1, max: 5_000_000 }),
      minute,
      valid: fc.boolean(),
      budgetMicros: fc.option(fc.integer({ min: 0, max: 30_000_000 }), { freq: 6 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("update" as const),
      advertiser,
      budgetMicros: fc.integer({ min: 0, max: 12_000_000 }),
      mode: fc.option(fc.constantFrom(...BUDGET_MODES)),
      minute,
      api: fc.boolean(),
      budgetPeriod: fc.option(fc.constantFrom(...BUDGET_PERIODS), { freq: 2 }),
      timeZone: fc.option(fc.constantFrom(...ZONES), { freq: 2 }),
    }),
  },
);

export interface BillingRun {
  readonly log: BillingLogEntry[];
  readonly budgetPeriod: BudgetPeriod;
  readonly timeZone: string;
  /** Batch sizes the log is cut into (cycled). */
  readonly batchSizes: number[];
}

export const billingRun: fc.Arbitrary<BillingRun> = fc.record({
  log: fc.array(billingLogEntry, { minLength: 1, maxLength: 120, size: "medium" }),
  budgetPeriod: fc.constantFrom(...BUDGET_PERIODS),
  timeZone: fc.constantFrom(...ZONES),
  batchSizes: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }),
});

/** Kafka record time of every record of a log (plus the caller's shift): after every event time in it. */
export const BILLING_KAFKA_MS = BILLING_DAY + 41 * H;

/** The log as Kafka records of one partition, all with Kafka time BILLING_KAFKA_MS + shiftMs. */
export function billingRecords(
  log: readonly BillingLogEntry[],
  topic: string,
  prefix: string,
  shiftMs = 0,
): KafkaRecord[] {
  const kafkaMs = BILLING_KAFKA_MS + shiftMs;
  return log.map((entry, offset) => {
    const timestamp = BILLING_DAY + entry.minute * 60_000;
    const advertiserId = `${prefix}adv-${entry.advertiser}`;
    const json =
      entry.kind === "click"
        ? {
            event_type: "ad_click",
            click_id: `c${entry.id}`,
            advertiser_id: advertiserId,
            amount: entry.amountMicros / 1e6,
            // A negative budget makes the click invalid (budget_negative): gross only, never billable.
            ...(entry.valid
              ? entry.budgetMicros === null
                ? {}
                : { budget_value: entry.budgetMicros / 1e6 }
              : { budget_value: -1 }),
            timestamp,
          }
        : {
            event_type: "budget_update",
            advertiser_id: advertiserId,
            budget_value: entry.budgetMicros / 1e6,
            ...(entry.api ? { budget_source: "api" } : {}),
            ...(entry.mode === null ? {} : { budget_mode: entry.mode }),
            ...(entry.budgetPeriod == null ? {} : { budget_period: entry.budgetPeriod }),
            ...(entry.timeZone == null ? {} : { time_zone: entry.timeZone }),
            timestamp,
          };
    return {
      topic,
      partition: 0,
      offset: String(offset),
      timestampMs: kafkaMs,
      key: Buffer.from(advertiserId),
      value: Buffer.from(JSON.stringify(json)),
    };
  });
}

/** Cuts `items` into consecutive batches of the given sizes (cycled). */
export function cut<T>(items: readonly T[], sizes: readonly number[]): T[][] {
  const batches: T[][] = [];
  for (let at = 0, i = 0; at < items.length; i++) {
    const size = sizes[i % sizes.length] ?? 1;
    batches.push(items.slice(at, at + size));
    at += size;
  }
  return batches;
}
