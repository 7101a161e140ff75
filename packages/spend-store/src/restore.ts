/**
 * Rebuild after Redis lost its data: the whole state replaced with a snapshot from the warehouse (or a
 * replay), under a new epoch that refuses writes from trackers that missed the rebuild.
 */
import { formatShape, usableShape } from "@adpipe/core";
import { SpendStoreError } from "./errors.js";
import type { PeriodWindow } from "./records.js";
import { toInt } from "./redis-values.js";
import { decodeApplySlice, decodeRestoreAdvertiser } from "./script-replies.js";
import { evalsha, type RoutedCommand, replyValue, runScripts } from "./script-runner.js";
import { luaScript } from "./scripts.js";
import { applySliceArgs, emptySlice, type SliceWriter } from "./slice-call.js";
import { dedupTtlSeconds, utcDay } from "./slices.js";
import { writeGuards } from "./state-guards.js";
import type { StoreContext, StorePosition } from "./store-context.js";
import type { PartitionOffset, RestoreOutcome, RestoreSnapshot, SnapshotAdvertiser } from "./store-types.js";
import { readStates } from "./stored-state.js";
import { wipe } from "./wipe.js";

/** Advertisers restored per pipeline. */
const RESTORE_CHUNK = 200;
/** Click ids per Redis command: the first batch of a bucket goes with the script, the rest with SADD. */
const CLICK_IDS_PER_CALL = 20_000;

/** A dedup set's ids beyond what restore_advertiser took, added with SADD after the script. */
type OverflowIds = [key: string, ids: string[]];

/**
 * Replaces the whole state with a snapshot. Order matters: the sentinel goes first (running trackers stop
 * committing), then every key, then the advertisers (each atomically, tagged with the new epoch), then the
 * sentinel with the snapshot's offsets, then a `reset` message for ad-server caches. Moves `position` to the
 * new epoch and the snapshot's generation. Hold the rebuild lock around it.
 */
export async function restore(
  context: StoreContext,
  position: StorePosition,
  snapshot: RestoreSnapshot,
  onProgress?: (done: number, total: number) => void,
): Promise<RestoreOutcome> {
  const { redis } = context;
  const metaKey = context.keys.meta(context.topic);
  const [storedEpoch, storedGeneration] = await redis.hmget(metaKey, "epoch", "generation");
  const previousEpoch = toInt(storedEpoch) ?? 0;
  const nowMs = context.clock();
  const epoch = Math.max(nowMs, previousEpoch + 1, (position.epoch ?? 0) + 1);
  // The snapshot's offsets belong to its generation (the warehouse's); a replay keeps the one Redis had.
  const generation = snapshot.generation ?? toInt(storedGeneration) ?? position.generation;
  position.generation = generation;
  // No per-advertiser messages: one `reset` at the end tells caches to drop everything.
  const writer: SliceWriter = { epoch, nowMs, channel: "" };
  // Operator pauses are not in the warehouse: carry over those still in Redis.
  const paused = new Set(
    [...(await readStates(context)).values()].filter((s) => s.paused).map((s) => s.advertiserId),
  );
  await redis.del(metaKey);
  const deletedKeys = await wipe(context);
  // The new epoch's guards before any advertiser: the restore's own apply_slice calls check them, and a
  // tracker still on the old epoch is refused everywhere from now on. The sentinel (created_at) comes last.
  // Outstanding reservations went with the wipe (or with Redis): their clicks may come until their TTL ends,
  // so hard_cap reservations are refused that long (Redis time, as reserve.lua judges it).
  await writeGuards(context, epoch, Date.now() + context.reservationHoldMs);

  const advertisers = withPausedAdvertisers(snapshot.advertisers, paused);
  const total = advertisers.length;
  const period = snapshot.period;
  let clickIds = 0;
  onProgress?.(0, total);
  for (let from = 0; from < total; from += RESTORE_CHUNK) {
    const chunk = advertisers.slice(from, from + RESTORE_CHUNK);
    const overflow: OverflowIds[] = [];
    const commands: RoutedCommand[] = [];
    for (const advertiser of chunk) {
      const isPaused = paused.has(advertiser.advertiserId);
      // An advertiser with its own calendar is restored in its own period (the snapshot's totals cover it).
      const own = advertiser.calendar?.window ?? period;
      const args = restoreArgs(context, writer, advertiser, own, snapshot.offsets, isPaused, overflow);
      commands.push(evalsha(args));
      // restore_advertiser leaves can_serve to an apply_slice call with no events (same slot: kept in order).
      commands.push(
        evalsha(applySliceArgs(context, emptySlice(advertiser.advertiserId, own), writer, false)),
      );
    }
    const replies = await runScripts(redis, commands);
    // Read only to check their shape: the outcome counts the click ids of the snapshot.
    for (let i = 0; i < replies.length; i += 2) {
      decodeRestoreAdvertiser(replyValue(replies, i));
      decodeApplySlice(replyValue(replies, i + 1));
    }
    for (const [key, ids] of overflow) {
      for (let i = 0; i < ids.length; i += CLICK_IDS_PER_CALL) {
        await redis.sadd(key, ...ids.slice(i, i + CLICK_IDS_PER_CALL));
      }
    }
    for (const advertiser of chunk) clickIds += advertiser.clickIds.length;
    onProgress?.(Math.min(total, from + chunk.length), total);
  }

  const metaFields: (string | number)[] = [
    "created_at",
    nowMs,
    "epoch",
    epoch,
    "generation",
    generation,
    "rebuilt_at",
    nowMs,
  ];
  for (const { partition, offset } of snapshot.offsets) metaFields.push(`o:${partition}`, offset);
  await redis.hset(metaKey, ...metaFields);
  position.epoch = epoch;
  if (context.channel !== "")
    await redis.publish(context.channel, JSON.stringify({ type: "reset", at: nowMs }));
  return { epoch, advertisers: total, clickIds, deletedKeys };
}

/** The snapshot's advertisers, plus an empty one for each paused advertiser the snapshot does not have. */
function withPausedAdvertisers(
  advertisers: readonly SnapshotAdvertiser[],
  paused: ReadonlySet<string>,
): SnapshotAdvertiser[] {
  const all = [...advertisers];
  for (const advertiserId of paused) {
    if (!all.some((a) => a.advertiserId === advertiserId)) {
      all.push({
        advertiserId,
        netMicros: 0,
        grossMicros: 0,
        clicks: 0,
        budgetMicros: null,
        budgetEventTimeMs: null,
        budgetSource: null,
        clickIds: [],
      });
    }
  }
  return all;
}

/** EVALSHA arguments of restore_advertiser.lua; click ids beyond one call's share go to `overflow`. */
function restoreArgs(
  context: StoreContext,
  writer: SliceWriter,
  advertiser: SnapshotAdvertiser,
  period: PeriodWindow,
  offsets: readonly PartitionOffset[],
  paused: boolean,
  overflow: OverflowIds[],
): (string | number)[] {
  const id = advertiser.advertiserId;
  const overCapMicros = advertiser.overCapMicros ?? 0;
  for (const value of [advertiser.netMicros, advertiser.grossMicros, advertiser.clicks, overCapMicros]) {
    if (!Number.isSafeInteger(value))
      throw new SpendStoreError("unsafe_integer", `snapshot of ${id}: ${value}`);
  }
  const fields: (string | number)[] = [
    "period",
    period.id,
    "_period_start",
    period.startMs,
    "net_micros",
    advertiser.netMicros,
    "gross_micros",
    advertiser.grossMicros,
    "clicks",
    advertiser.clicks,
  ];
  if (advertiser.budgetMicros !== null) {
    fields.push("budget_micros", advertiser.budgetMicros, "_budget_ts", advertiser.budgetEventTimeMs ?? 0);
    if (advertiser.budgetSource !== null) fields.push("budget_source", advertiser.budgetSource);
  }
  // As apply_slice.lua writes them: over_cap_micros only when not 0, mode only once an update set one.
  if (overCapMicros !== 0) fields.push("over_cap_micros", overCapMicros);
  if (advertiser.mode !== undefined && advertiser.mode !== null) {
    fields.push("mode", advertiser.mode, "_mode_ts", advertiser.modeEventTimeMs ?? 0);
  }
  // Pacing only once an update set one (apply_slice.lua then writes serve_fraction with can_serve).
  if (advertiser.pacing !== undefined && advertiser.pacing !== null) {
    fields.push("pacing", advertiser.pacing, "_pacing_ts", advertiser.pacingEventTimeMs ?? 0);
    // As set_shape.lua writes it: only on shaped advertisers, only a usable shape.
    if (advertiser.pacing === "shaped" && usableShape(advertiser.shape))
      fields.push("_shape", formatShape(advertiser.shape));
  }
  for (const { partition, offset } of offsets)
    fields.push(`_off:${context.lineageTopic()}:${partition}`, offset - 1);
  if (paused) fields.push("_paused", "1");
  const calendar = advertiser.calendar;
  if (calendar !== undefined) {
    // As apply_slice.lua writes them: the calendar in force, and the event times of the settings ever set.
    fields.push("budget_period", calendar.period, "time_zone", calendar.timeZone);
    if (calendar.periodEventTimeMs !== null) fields.push("_period_ts", calendar.periodEventTimeMs);
    if (calendar.zoneEventTimeMs !== null) fields.push("_tz_ts", calendar.zoneEventTimeMs);
  } else {
    // The public fields name the calendar in force for every advertiser: the service-wide one here.
    fields.push("budget_period", context.budgetPeriod, "time_zone", context.timeZone);
  }

  // Group the click ids by dedup bucket (the period; the UTC day for lifetime budgets and for advertisers
  // with a calendar of their own, as the tracker's slices do).
  const byDay = context.budgetPeriod === "lifetime" || calendar !== undefined;
  const buckets = new Map<string, { ttl: number; ids: string[] }>();
  for (const { clickId, eventTimeMs } of advertiser.clickIds) {
    const window = byDay ? utcDay(eventTimeMs) : context.periodOf(eventTimeMs);
    let bucket = buckets.get(window.id);
    if (bucket === undefined) {
      const ttl = dedupTtlSeconds(window.startMs, window.endMs, writer.nowMs, context.dedupHorizonMs);
      bucket = { ttl, ids: [] };
      buckets.set(window.id, bucket);
    }
    bucket.ids.push(clickId);
  }
  const keys = [context.keys.advertiser(id), context.keys.pending(id)];
  const tail: (string | number)[] = [buckets.size];
  for (const [bucketId, bucket] of buckets) {
    const key = context.keys.dedup(id, bucketId);
    keys.push(key);
    const first = bucket.ids.slice(0, CLICK_IDS_PER_CALL);
    tail.push(bucket.ttl, first.length, ...first);
    if (bucket.ids.length > first.length) overflow.push([key, bucket.ids.slice(first.length)]);
  }
  return [
    luaScript("restore_advertiser").sha,
    keys.length,
    ...keys,
    writer.epoch,
    fields.length / 2,
    ...fields,
    ...tail,
  ];
}
