/**
 * SliceBatch's packed slices read back as objects, the way apply_slice.lua reads them: for tests and
 * diagnostics (the store sends the packed form). Exported through `@adpipe/spend-store/testing`.
 */

import type { BudgetMode, BudgetSource } from "@adpipe/core";
import { SpendStoreError } from "./errors.js";
import type { PeriodWindow, SpendRecord } from "./records.js";
import { dedupTtlSeconds, EVENT_FIXED_BYTES, SliceBatch, type SliceOptions } from "./slices.js";

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
  /** The reservation the event settles (its own one, else its click id's); null: none. */
  readonly reservationId: string | null;
  readonly grossMicros: number;
  readonly netMicros: number;
  readonly clicks: number;
  readonly budgetMicros: number | null;
  readonly budgetTimeMs: number;
  /** Source of the budget observation; null when there is none. */
  readonly budgetSource: BudgetSource | null;
  /** The budget mode the observation sets; absent when it sets none. */
  readonly budgetMode?: BudgetMode | undefined;
}

const SOURCE_OF_CODE: readonly (BudgetSource | null)[] = [null, "click", "budget_update", "api"];
const MODE_OF_CODE: readonly (BudgetMode | undefined)[] = [undefined, "observe", "hard_cap"];

/** Everything one apply_slice call needs for one advertiser. */
export interface AdvertiserSlice {
  readonly advertiserId: string;
  /** The period the hash must be in after the call: of max(clock, newest record timestamp). */
  readonly currentPeriod: PeriodWindow;
  readonly buckets: readonly SliceBucket[];
  /** In batch order, which is offset order within each partition. */
  readonly events: readonly SliceEvent[];
}

/** The events of a packed slice as objects (the inverse of SliceBatch's encoding, read as the script does). */
export function unpackEvents(bytes: Uint8Array): SliceEvent[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const events: SliceEvent[] = [];
  let at = 0;
  while (at < bytes.byteLength) {
    if (at + EVENT_FIXED_BYTES > bytes.byteLength) {
      throw new SpendStoreError("invalid_input", `truncated packed event at byte ${at}`);
    }
    const field = (i: number) => view.getFloat64(at + 8 * i, true);
    const bucket = field(2);
    const idBytes = field(10);
    const reservationBytes = field(11);
    const id = text.toString("utf8", at + EVENT_FIXED_BYTES, at + EVENT_FIXED_BYTES + idBytes);
    const ownReservation = text.toString(
      "utf8",
      at + EVENT_FIXED_BYTES + idBytes,
      at + EVENT_FIXED_BYTES + idBytes + reservationBytes,
    );
    const reservationId = ownReservation !== "" ? ownReservation : bucket === 0 || id === "" ? null : id;
    events.push({
      partition: field(0),
      offset: field(1),
      bucket: bucket - 1,
      dedupKey: bucket === 0 || id === "" ? null : id,
      reservationId,
      grossMicros: field(3),
      netMicros: field(4),
      clicks: field(5),
      budgetMicros: field(6) === 0 ? null : field(7),
      budgetTimeMs: field(8),
      budgetSource: SOURCE_OF_CODE[field(6)] ?? null,
      budgetMode: MODE_OF_CODE[field(9)],
    });
    at += EVENT_FIXED_BYTES + idBytes + reservationBytes;
  }
  return events;
}

/**
 * Groups records per advertiser (first-seen order) into the arguments of one apply_slice call each, as
 * objects: what SliceBatch packs, decoded again (for tests and diagnostics; the store sends the packed form).
 */
export function buildSlices(records: readonly SpendRecord[], options: SliceOptions): AdvertiserSlice[] {
  const batch = new SliceBatch(options);
  for (const record of records) batch.addRecord(record);
  return [...batch.slices.values()].map((slice) => ({
    advertiserId: slice.advertiserId,
    currentPeriod: options.periodOf(Math.max(options.nowMs, slice.maxTimestampMs)),
    buckets: slice.buckets.map((b) => ({
      periodStartMs: b.periodStartMs,
      periodId: b.periodId,
      dedupBucketId: b.dedupBucketId,
      ttlSeconds: dedupTtlSeconds(b.dedupStartMs, b.dedupEndMs, options.nowMs, options.dedupHorizonMs),
    })),
    events: unpackEvents(slice.bytes.subarray(0, slice.length)),
  }));
}
