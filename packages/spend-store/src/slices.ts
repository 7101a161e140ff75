import { SpendStoreError } from "./errors.js";
import type { PeriodOf, PeriodWindow, SpendRecord } from "./records.js";

const MS_PER_DAY = 86_400_000;

/**
 * One period x dedup-bucket combination of a slice. For hour/day/month budgets the dedup bucket is
 * the budget period itself; for lifetime budgets (one period forever) it is the UTC day of the
 * event, so dedup sets expire instead of growing forever.
 */
export interface SliceBucket {
  readonly periodStartMs: number;
  readonly periodId: string;
  readonly dedupBucketId: string;
  /** How long the dedup set must live, from now: until the bucket ends plus the dedup horizon. */
  readonly ttlSeconds: number;
}

export interface SliceEvent {
  readonly partition: number;
  readonly offset: number;
  /** Index into buckets (0-based); -1 when the event carries no spend. */
  readonly bucket: number;
  readonly dedupKey: string | null;
  readonly grossMicros: number;
  readonly netMicros: number;
  readonly clicks: number;
  readonly budgetMicros: number | null;
  readonly budgetTimeMs: number;
}

/** Everything one apply_slice call needs for one advertiser. */
export interface AdvertiserSlice {
  readonly advertiserId: string;
  /** The period the hash must be in after the call: of max(clock, newest record timestamp). */
  readonly currentPeriod: PeriodWindow;
  readonly buckets: readonly SliceBucket[];
  /** In batch order, which is offset order within each partition. */
  readonly events: readonly SliceEvent[];
}

export interface SliceOptions {
  readonly periodOf: PeriodOf;
  /** True for lifetime budgets: dedup by UTC day of the event instead of by period. */
  readonly dedupByDay: boolean;
  /** Dedup sets live until their bucket ends plus this long (duplicates later than that are not caught). */
  readonly dedupHorizonMs: number;
  /** The tracker clock (injectable): periods never lag behind it. */
  readonly nowMs: number;
}

function assertSafe(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) {
    throw new SpendStoreError("unsafe_integer", `${what} is not a safe integer: ${String(value)}`);
  }
}

/** The UTC day of a time: the dedup bucket of lifetime budgets. */
export function utcDay(timeMs: number): { id: string; startMs: number; endMs: number } {
  const startMs = Math.floor(timeMs / MS_PER_DAY) * MS_PER_DAY;
  return { id: new Date(startMs).toISOString().slice(0, 10), startMs, endMs: startMs + MS_PER_DAY };
}

/**
 * TTL of a dedup set: it must outlive the bucket (while the bucket is current, a duplicate changes the
 * decision) plus the horizon; capped at one bucket length ahead so that sets for far-future (invalid)
 * event times do not linger for years.
 */
export function dedupTtlSeconds(
  bucketStartMs: number,
  bucketEndMs: number,
  nowMs: number,
  horizonMs: number,
): number {
  const length = bucketEndMs - bucketStartMs;
  const untilEnd = Math.min(Math.max(bucketEndMs - nowMs, 0), length);
  return Math.max(1, Math.ceil((untilEnd + horizonMs) / 1000));
}

/**
 * Groups records per advertiser (first-seen order) into the arguments of one apply_slice call each.
 * Pure: everything that needs Redis state (dedup, offsets, period roll) happens in the script.
 */
export function buildSlices(records: readonly SpendRecord[], options: SliceOptions): AdvertiserSlice[] {
  interface Draft {
    maxTimestampMs: number;
    buckets: SliceBucket[];
    bucketIndex: Map<string, number>;
    events: SliceEvent[];
  }
  const drafts = new Map<string, Draft>();
  for (const record of records) {
    assertSafe(record.offset, "offset");
    let draft = drafts.get(record.advertiserId);
    if (draft === undefined) {
      draft = { maxTimestampMs: record.timestampMs, buckets: [], bucketIndex: new Map(), events: [] };
      drafts.set(record.advertiserId, draft);
    }
    draft.maxTimestampMs = Math.max(draft.maxTimestampMs, record.timestampMs);

    let bucket = -1;
    const spend = record.spend;
    if (spend !== null) {
      assertSafe(spend.grossMicros, "gross micros");
      assertSafe(spend.netMicros, "net micros");
      const period = options.periodOf(spend.eventTimeMs);
      const dedup = options.dedupByDay ? utcDay(spend.eventTimeMs) : period;
      const key = `${period.startMs}|${dedup.id}`;
      const known = draft.bucketIndex.get(key);
      if (known !== undefined) bucket = known;
      else {
        bucket = draft.buckets.length;
        draft.bucketIndex.set(key, bucket);
        draft.buckets.push({
          periodStartMs: period.startMs,
          periodId: period.id,
          dedupBucketId: dedup.id,
          ttlSeconds: dedupTtlSeconds(dedup.startMs, dedup.endMs, options.nowMs, options.dedupHorizonMs),
        });
      }
    }
    const budget = record.budget;
    if (budget !== null) assertSafe(budget.budgetMicros, "budget micros");
    draft.events.push({
      partition: record.partition,
      offset: record.offset,
      bucket,
      dedupKey: spend?.dedupKey ?? null,
      grossMicros: spend?.grossMicros ?? 0,
      netMicros: spend?.netMicros ?? 0,
      clicks: spend?.clicks ?? 0,
      budgetMicros: budget?.budgetMicros ?? null,
      budgetTimeMs: budget?.eventTimeMs ?? 0,
    });
  }
  return [...drafts].map(([advertiserId, draft]) => ({
    advertiserId,
    currentPeriod: options.periodOf(Math.max(options.nowMs, draft.maxTimestampMs)),
    buckets: draft.buckets,
    events: draft.events,
  }));
}
