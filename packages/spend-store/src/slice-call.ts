import type { PeriodWindow } from "./records.js";
import { luaScript } from "./scripts.js";
import { dedupTtlSeconds, type PackedBucket } from "./slices.js";
import { guardKey } from "./state-guards.js";
import type { StoreContext } from "./store-context.js";

/** The arguments of one apply_slice call, events packed as SliceBatch encodes them. */
export interface SliceCall {
  readonly advertiserId: string;
  readonly currentPeriod: PeriodWindow;
  readonly buckets: readonly PackedBucket[];
  readonly events: number;
  /** The packed events ("" when there are none: the call then stays a plain string command). */
  readonly packed: Buffer | string;
  /** The advertiser's calendar to record (calendarArgument); absent or "": the stored one stays. */
  readonly calendar?: string;
}

/** Who writes a slice, and when. */
export interface SliceWriter {
  /** The state epoch the writer knows: a hash in a newer epoch refuses the call. */
  readonly epoch: number;
  readonly nowMs: number;
  /** Where a can_serve change is published; "" = not published. */
  readonly channel: string;
}

/** No events: a period roll and a can_serve recomputation only (sweep, pause, restore). */
export function emptySlice(advertiserId: string, currentPeriod: PeriodWindow): SliceCall {
  return { advertiserId, currentPeriod, buckets: [], events: 0, packed: "" };
}

/**
 * EVALSHA arguments of apply_slice.lua for one advertiser. `create` false leaves an advertiser without a
 * hash unknown (the sweep), true creates its hash.
 */
export function applySliceArgs(
  context: StoreContext,
  slice: SliceCall,
  writer: SliceWriter,
  create: boolean,
): (string | number | Buffer)[] {
  const { keys } = context;
  const id = slice.advertiserId;
  const buckets = slice.buckets;
  const args: (string | number | Buffer)[] = [
    luaScript("apply_slice").sha,
    5 + buckets.length,
    keys.advertiser(id),
    keys.pending(id),
    guardKey(context, id),
    keys.reservations(id),
    keys.reservationExpiries(id),
  ];
  for (const bucket of buckets) args.push(keys.dedup(id, bucket.dedupBucketId));
  args.push(
    context.lineageTopic(),
    id,
    writer.channel,
    slice.currentPeriod.startMs,
    slice.currentPeriod.id,
    writer.nowMs,
    create ? "1" : "0",
    writer.epoch,
    buckets.length,
  );
  for (const bucket of buckets) {
    args.push(
      bucket.periodStartMs,
      dedupTtlSeconds(bucket.dedupStartMs, bucket.dedupEndMs, writer.nowMs, context.dedupHorizonMs),
    );
  }
  args.push(
    slice.events,
    slice.packed,
    slice.calendar ?? "",
    slice.currentPeriod.endMs,
    context.pacingToleranceBp,
  );
  return args;
}
