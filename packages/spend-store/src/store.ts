import { randomUUID } from "node:crypto";
import {
  BUDGET_SOURCES,
  type BudgetPeriod,
  type BudgetSource,
  budgetPeriodOf,
  generationTopic,
} from "@adpipe/core";
import { advertiserIdFromKey, DEFAULT_KEY_PREFIX, servingChangesChannel } from "@adpipe/serving-client";
import type { Cluster, Redis } from "ioredis";
import { SpendStoreError } from "./errors.js";
import { type SpendKeys, spendKeys } from "./keys.js";
import type { PeriodWindow, SpendRecord } from "./records.js";
import { scanKeys } from "./redis-scan.js";
import { isNoScriptError, loadScripts, luaScript } from "./scripts.js";
import { dedupTtlSeconds, type PackedBucket, SliceBatch, utcDay } from "./slices.js";
import type {
  BatchOutcome,
  BatchStatus,
  MetaState,
  PartitionOffset,
  RebuildLock,
  ResetPositionsOutcome,
  RestoreOutcome,
  RestoreSnapshot,
  ServingFlip,
  SnapshotAdvertiser,
  StoredState,
  SweepOutcome,
  TrackerResetDetection,
} from "./store-types.js";

export type {
  BatchOutcome,
  BatchStatus,
  MetaState,
  PartitionOffset,
  RebuildLock,
  ResetPositionsOutcome,
  RestoreOutcome,
  RestoreSnapshot,
  ServingFlip,
  SnapshotAdvertiser,
  StoredState,
  SweepOutcome,
  TrackerResetDetection,
} from "./store-types.js";

export const DEFAULT_DEDUP_HORIZON_MS = 3_600_000;

export interface SpendStoreOptions {
  /** A connected ioredis client (standalone or Cluster). The store does not close it. */
  redis: Redis | Cluster;
  /** The Kafka topic whose records this store applies (offsets and the sentinel are per topic). */
  topic: string;
  /** Key prefix (REDIS_KEY_PREFIX). Default `adspend:`. One tracker deployment (one topic) per prefix. */
  prefix?: string;
  budgetPeriod?: BudgetPeriod;
  /** IANA zone of the budget period (UTC by default; the design allows a per-advertiser zone later). */
  timeZone?: string;
  /** Dedup sets live until their bucket (budget period; UTC day for lifetime budgets) ends plus this. */
  dedupHorizonMs?: number;
  /** Injectable clock (epoch ms): period rollover and updated_at. Default Date.now. */
  clock?: () => number;
  /** Publish can_serve changes on `<prefix>serving-changes`. Default true. */
  publishChanges?: boolean;
}

const RESTORE_CHUNK = 200;
const SWEEP_CHUNK = 500;
const CLICK_IDS_PER_CALL = 20_000;

type Reply = [Error | null, unknown];

const STATE_FIELDS = [
  "period",
  "_period_start",
  "net_micros",
  "gross_micros",
  "clicks",
  "budget_micros",
  "_budget_ts",
  "can_serve",
  "reason",
  "_paused",
  "budget_source",
] as const;

function budgetSourceOf(value: string | null | undefined): BudgetSource | null {
  return (BUDGET_SOURCES as readonly (string | null | undefined)[]).includes(value)
    ? (value as BudgetSource)
    : null;
}

function storedState(advertiserId: string, v: readonly (string | null)[] | null): StoredState | null {
  if (v === null || v[0] === null || v[0] === undefined) return null;
  return {
    advertiserId,
    period: v[0],
    periodStartMs: toInt(v[1]) ?? 0,
    netMicros: toInt(v[2]) ?? 0,
    grossMicros: toInt(v[3]) ?? 0,
    clicks: toInt(v[4]) ?? 0,
    budgetMicros: toInt(v[5]),
    budgetEventTimeMs: toInt(v[6]),
    budgetSource: budgetSourceOf(v[10]),
    canServe: v[7] === "1",
    reason: v[8] ?? null,
    paused: v[9] === "1",
  };
}

/** The arguments of one apply_slice call, events packed as SliceBatch encodes them. */
interface SliceCall {
  readonly advertiserId: string;
  readonly currentPeriod: PeriodWindow;
  readonly buckets: readonly PackedBucket[];
  readonly events: number;
  /** The packed events ("" when there are none: the call then stays a plain string command). */
  readonly packed: Buffer | string;
}

/** No events: a period roll and a can_serve recomputation only (sweep, pause, restore). */
function emptySlice(advertiserId: string, currentPeriod: PeriodWindow): SliceCall {
  return { advertiserId, currentPeriod, buckets: [], events: 0, packed: "" };
}

function parseDetection(text: string | undefined): TrackerResetDetection | null {
  if (text === undefined || text === "") return null;
  try {
    const value = JSON.parse(text) as TrackerResetDetection;
    return Array.isArray(value.partitions) ? value : null;
  } catch {
    return null;
  }
}

function toInt(value: string | null | undefined): number | null {
  if (value === null || value === undefined || value === "") return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Per-advertiser spend and serving state in Redis, maintained exactly once from Kafka batches.
 * All writes go through the Lua scripts in `lua/`, loaded once and called by SHA.
 */
export class SpendStore {
  readonly keys: SpendKeys;
  readonly topic: string;
  readonly budgetPeriod: BudgetPeriod;
  readonly timeZone: string;
  readonly dedupHorizonMs: number;
  private readonly redis: Redis | Cluster;
  private readonly clock: () => number;
  private readonly channel: string;
  private knownEpoch: number | null = null;
  private knownGeneration = 0;

  constructor(options: SpendStoreOptions) {
    this.redis = options.redis;
    this.topic = options.topic;
    this.keys = spendKeys(options.prefix ?? DEFAULT_KEY_PREFIX);
    this.budgetPeriod = options.budgetPeriod ?? "day";
    this.timeZone = options.timeZone ?? "UTC";
    this.dedupHorizonMs = options.dedupHorizonMs ?? DEFAULT_DEDUP_HORIZON_MS;
    this.clock = options.clock ?? Date.now;
    this.channel = options.publishChanges === false ? "" : servingChangesChannel(this.keys.prefix);
    budgetPeriodOf(this.clock(), this.budgetPeriod, this.timeZone);
  }

  /** The epoch this store writes with (from the meta hash), null before start/createSentinel/restore. */
  get epoch(): number | null {
    return this.knownEpoch;
  }

  periodOf(timeMs: number): PeriodWindow {
    return budgetPeriodOf(timeMs, this.budgetPeriod, this.timeZone);
  }

  currentPeriod(): PeriodWindow {
    return this.periodOf(this.clock());
  }

  /** Loads the Lua scripts (SCRIPT LOAD); call once before anything else. */
  async loadScripts(): Promise<void> {
    await loadScripts(this.redis);
  }

  /** The topic generation this store writes with (from the meta hash; 0 until a topic reset). */
  get generation(): number {
    return this.knownGeneration;
  }

  /**
   * The topic name under which advertiser hashes keep their applied offsets (`_off:<name>:<partition>`): the
   * topic itself in generation 0, `<topic>#g<n>` after a reset, so a new log's offsets are never replays.
   */
  get lineageTopic(): string {
    return generationTopic(this.topic, this.knownGeneration);
  }

  /** Writes from now on with the epoch and generation of this meta state (after a rebuild or reset elsewhere). */
  adopt(meta: MetaState): void {
    this.knownEpoch = meta.epoch;
    this.knownGeneration = meta.generation;
  }

  /** The sentinel and recorded offsets; null when the sentinel is missing. Does not adopt the epoch. */
  async readMeta(): Promise<MetaState | null> {
    const fields = await this.redis.hgetall(this.keys.meta(this.topic));
    const createdAtMs = toInt(fields.created_at);
    const epoch = toInt(fields.epoch);
    if (createdAtMs === null || epoch === null) return null;
    const offsets: PartitionOffset[] = [];
    for (const [field, value] of Object.entries(fields)) {
      if (!field.startsWith("o:")) continue;
      const partition = Number(field.slice(2));
      const offset = toInt(value);
      if (Number.isInteger(partition) && offset !== null) offsets.push({ partition, offset });
    }
    offsets.sort((a, b) => a.partition - b.partition);
    const resetAtMs = toInt(fields.reset_at);
    return {
      epoch,
      createdAtMs,
      generation: toInt(fields.generation) ?? 0,
      offsets,
      resetDetected: parseDetection(fields.reset_detected),
      lastReset: resetAtMs === null ? null : { id: fields.reset_id ?? "", atMs: resetAtMs },
    };
  }

  /**
   * Records (or, with null, clears) a topic reset the tracker found, in the meta hash: `adpipe status` and
   * `adpipe offsets reset` read it. Only while the hash is in `generation` (record_detection.lua): a finding made
   * before a reset moved the positions is stale and is dropped. Returns whether it was written.
   */
  async recordResetDetection(detection: TrackerResetDetection | null, generation: number): Promise<boolean> {
    const replies = await this.execWithScripts(() =>
      this.redis
        .pipeline()
        .call("EVALSHA", [
          luaScript("record_detection").sha,
          1,
          this.keys.meta(this.topic),
          generation,
          detection === null ? "" : JSON.stringify(detection),
        ]),
    );
    return replies[0]?.[1] === 1;
  }

  /**
   * The tracker's part of a topic reset (reset_offsets.lua): from `fromGeneration` only; a new generation replaces
   * every position, the same generation moves them forward. Idempotent for a re-run.
   */
  async resetPositions(step: {
    fromGeneration: number;
    toGeneration: number;
    resetId: string;
    positions: readonly PartitionOffset[];
  }): Promise<ResetPositionsOutcome> {
    const args: (string | number)[] = [
      luaScript("reset_offsets").sha,
      1,
      this.keys.meta(this.topic),
      step.fromGeneration,
      step.toGeneration,
      step.resetId,
      this.clock(),
    ];
    for (const { partition, offset } of step.positions) args.push(partition, offset);
    const replies = await this.execWithScripts(() => this.redis.pipeline().call("EVALSHA", args));
    const out = replies[0]?.[1] as number;
    return out === 1 ? "moved" : out === 2 ? "already_moved" : out === 0 ? "state_lost" : "generation_moved";
  }

  /** Creates the sentinel for a fresh start (no state anywhere yet); safe to race with other instances. */
  async createSentinel(): Promise<MetaState> {
    const now = this.clock();
    const key = this.keys.meta(this.topic);
    await this.redis.multi().hsetnx(key, "created_at", now).hsetnx(key, "epoch", now).exec();
    const meta = await this.readMeta();
    if (meta === null)
      throw new SpendStoreError("state_lost", "the sentinel vanished right after it was created");
    this.adopt(meta);
    return meta;
  }

  /** True when any advertiser hash exists under the prefix. */
  async hasAdvertiserState(): Promise<boolean> {
    for await (const keys of scanKeys(this.redis, this.keys.patterns.advertiser, 100)) {
      if (keys.length > 0) return true;
    }
    return false;
  }

  private requireEpoch(): number {
    if (this.knownEpoch === null) {
      throw new SpendStoreError(
        "state_lost",
        "no state epoch: call readMeta, createSentinel or restore first",
      );
    }
    return this.knownEpoch;
  }

  /** A batch to fill record by record (in offset order per partition), then send with applySlices. */
  newBatch(): SliceBatch {
    return new SliceBatch({
      periodOf: (timeMs) => this.periodOf(timeMs),
      dedupByDay: this.budgetPeriod === "lifetime",
    });
  }

  private sliceArgs(
    slice: SliceCall,
    epoch: number,
    nowMs: number,
    create: boolean,
    channel: string = this.channel,
  ): (string | number | Buffer)[] {
    const id = slice.advertiserId;
    const buckets = slice.buckets;
    const args: (string | number | Buffer)[] = [
      luaScript("apply_slice").sha,
      2 + buckets.length,
      this.keys.advertiser(id),
      this.keys.pending(id),
    ];
    for (const bucket of buckets) args.push(this.keys.dedup(id, bucket.dedupBucketId));
    args.push(
      this.lineageTopic,
      id,
      channel,
      slice.currentPeriod.startMs,
      slice.currentPeriod.id,
      nowMs,
      create ? "1" : "0",
      epoch,
      buckets.length,
    );
    for (const bucket of buckets) {
      args.push(
        bucket.periodStartMs,
        dedupTtlSeconds(bucket.dedupStartMs, bucket.dedupEndMs, nowMs, this.dedupHorizonMs),
      );
    }
    args.push(slice.events, slice.packed);
    return args;
  }

  private async execWithScripts(
    build: () => ReturnType<Redis["pipeline"]>,
    options: { requireState?: boolean } = {},
  ): Promise<Reply[]> {
    for (let attempt = 0; ; attempt++) {
      const replies = ((await build().exec()) ?? []) as Reply[];
      const noScript = replies.some(([error]) => error !== null && isNoScriptError(error));
      if (!noScript || attempt > 0) {
        const failed = replies.find(([error]) => error !== null);
        if (failed?.[0]) throw new SpendStoreError("redis_reply", failed[0].message, { cause: failed[0] });
        return replies;
      }
      // Redis restarted or its script cache was flushed. Every script is idempotent (offsets per hash,
      // forward-only meta), so the whole pipeline is simply sent again.
      await loadScripts(this.redis);
      // A restart may also have lost the data. Sending the slices into an empty Redis would create hashes
      // holding only this batch's spend, which ad servers would read as the advertiser's spend (can_serve 1 for
      // an exhausted budget) until the tracker rebuilt. Without the sentinel the batch is refused instead
      // (state_lost: the tracker rebuilds first).
      if (options.requireState === true && (await this.readMeta()) === null) {
        throw new SpendStoreError("state_lost", "Redis restarted without the tracker state: nothing written");
      }
    }
  }

  /**
   * Applies one consumed batch in ONE pipelined round trip: one apply_slice call per advertiser, then
   * commit_offsets with the next offset of every partition in the batch (also partitions whose records
   * carried no spend). Records must be in offset order per partition.
   */
  async applyBatch(
    records: readonly SpendRecord[],
    progress: readonly PartitionOffset[],
  ): Promise<BatchOutcome> {
    const batch = this.newBatch();
    for (const record of records) batch.addRecord(record);
    return this.applySlices(batch, progress);
  }

  /** applyBatch for a batch filled with newBatch() (records added in offset order per partition). */
  async applySlices(batch: SliceBatch, progress: readonly PartitionOffset[]): Promise<BatchOutcome> {
    const epoch = this.requireEpoch();
    const nowMs = this.clock();
    const slices: SliceCall[] = [];
    for (const slice of batch.slices.values()) {
      slices.push({
        advertiserId: slice.advertiserId,
        currentPeriod: this.periodOf(Math.max(nowMs, slice.maxTimestampMs)),
        buckets: slice.buckets,
        events: slice.events,
        packed: slice.bytes.subarray(0, slice.length),
      });
    }
    const commitArgs: (string | number)[] = [
      luaScript("commit_offsets").sha,
      1,
      this.keys.meta(this.topic),
      epoch,
      this.knownGeneration,
    ];
    for (const { partition, offset } of progress) commitArgs.push(partition, offset);

    let replies: Reply[];
    try {
      replies = await this.execWithScripts(
        () => {
          const pipeline = this.redis.pipeline();
          for (const slice of slices) pipeline.call("EVALSHA", this.sliceArgs(slice, epoch, nowMs, true));
          pipeline.call("EVALSHA", commitArgs);
          return pipeline;
        },
        { requireState: true },
      );
    } catch (error) {
      if (error instanceof SpendStoreError && error.code === "state_lost") {
        return {
          status: "state_lost",
          advertisers: slices.length,
          applied: 0,
          duplicates: 0,
          replayed: 0,
          closedPeriod: 0,
          flips: [],
        };
      }
      throw error;
    }

    let applied = 0;
    let duplicates = 0;
    let replayed = 0;
    let closedPeriod = 0;
    let refused = false;
    const flips: ServingFlip[] = [];
    slices.forEach((slice, i) => {
      const out = replies[i]?.[1] as number[];
      const [status, a, d, r, c, flipped, canServe] = out;
      if (status === -1) refused = true;
      applied += a ?? 0;
      duplicates += d ?? 0;
      replayed += r ?? 0;
      closedPeriod += c ?? 0;
      if (flipped === 1) flips.push({ advertiserId: slice.advertiserId, canServe: canServe === 1 });
    });
    const committed = replies[slices.length]?.[1] as number;
    const status: BatchStatus =
      committed === 0
        ? "state_lost"
        : committed === -1 || refused
          ? "epoch_changed"
          : committed === -2
            ? "generation_changed"
            : "applied";
    return { status, advertisers: slices.length, applied, duplicates, replayed, closedPeriod, flips };
  }

  /**
   * Period rollover: moves every advertiser hash whose period is over into the current period (spend
   * restarts from zero, or from clicks that arrived early for it) and recomputes can_serve, so an
   * advertiser that ran out yesterday serves again at the boundary without a new click.
   */
  async sweep(): Promise<SweepOutcome> {
    const epoch = this.requireEpoch();
    const nowMs = this.clock();
    const period = this.periodOf(nowMs);
    let scanned = 0;
    let epochChanged = false;
    const flips: ServingFlip[] = [];
    const seen = new Set<string>();
    for await (const keys of scanKeys(this.redis, this.keys.patterns.advertiser, SWEEP_CHUNK)) {
      const ids = keys
        .map((key) => advertiserIdFromKey(key, this.keys.prefix))
        .filter((id): id is string => id !== null && !seen.has(id));
      for (const id of ids) seen.add(id);
      if (ids.length === 0) continue;
      scanned += ids.length;
      const replies = await this.execWithScripts(() => {
        const pipeline = this.redis.pipeline();
        for (const id of ids) {
          pipeline.call("EVALSHA", this.sliceArgs(emptySlice(id, period), epoch, nowMs, false));
        }
        return pipeline;
      });
      ids.forEach((id, i) => {
        const out = replies[i]?.[1] as number[];
        if (out[0] === -1) epochChanged = true;
        if (out[5] === 1) flips.push({ advertiserId: id, canServe: out[6] === 1 });
      });
    }
    return { period, scanned, flips, epochChanged };
  }

  /** The stored state of one advertiser; null when it has no hash. */
  async readState(advertiserId: string): Promise<StoredState | null> {
    const values = await this.redis.hmget(this.keys.advertiser(advertiserId), ...STATE_FIELDS);
    return storedState(advertiserId, values);
  }

  /** Reads the state of every advertiser hash (SCAN + pipelined HMGET); for reconciliation and tests. */
  async readStates(): Promise<Map<string, StoredState>> {
    const states = new Map<string, StoredState>();
    for await (const keys of scanKeys(this.redis, this.keys.patterns.advertiser, SWEEP_CHUNK)) {
      const pipeline = this.redis.pipeline();
      for (const key of keys) pipeline.hmget(key, ...STATE_FIELDS);
      const replies = ((await pipeline.exec()) ?? []) as Reply[];
      keys.forEach((key, i) => {
        const id = advertiserIdFromKey(key, this.keys.prefix);
        const [error, value] = replies[i] ?? [null, null];
        if (error) throw new SpendStoreError("redis_reply", error.message, { cause: error });
        const state = id === null ? null : storedState(id, value as (string | null)[]);
        if (state !== null) states.set(state.advertiserId, state);
      });
    }
    return states;
  }

  /**
   * An operator pause (reason `paused`): survives clicks, rollovers and rebuilds. Uses the epoch in Redis
   * at the time of the call (an operator action is never stale), so any process may call it.
   */
  async setPaused(advertiserId: string, paused: boolean): Promise<ServingFlip | null> {
    const key = this.keys.advertiser(advertiserId);
    for (let attempt = 0; attempt < 3; attempt++) {
      const meta = await this.readMeta();
      if (meta === null) {
        throw new SpendStoreError(
          "state_lost",
          "the real-time state is missing or being rebuilt: retry shortly",
        );
      }
      const nowMs = this.clock();
      const slice = emptySlice(advertiserId, this.periodOf(nowMs));
      const replies = await this.execWithScripts(() => {
        const pipeline = this.redis.pipeline();
        pipeline.hset(key, "_paused", paused ? "1" : "0");
        pipeline.call("EVALSHA", this.sliceArgs(slice, meta.epoch, nowMs, true));
        return pipeline;
      });
      const out = replies[1]?.[1] as number[];
      if (out[0] === -1) continue; // a rebuild finished between reading the epoch and the call
      return out[5] === 1 ? { advertiserId, canServe: out[6] === 1 } : null;
    }
    throw new SpendStoreError(
      "state_lost",
      "the real-time state kept changing epoch (rebuilds): retry shortly",
    );
  }

  /** Deletes every key of the store under the prefix (advertiser hashes, pending, dedup sets, the meta). */
  async wipe(): Promise<number> {
    let deleted = await this.redis.del(this.keys.meta(this.topic));
    for (const pattern of Object.values(this.keys.patterns)) {
      for await (const keys of scanKeys(this.redis, pattern, SWEEP_CHUNK)) {
        const pipeline = this.redis.pipeline();
        for (const key of keys) pipeline.unlink(key);
        const replies = ((await pipeline.exec()) ?? []) as Reply[];
        for (const [, n] of replies) deleted += typeof n === "number" ? n : 0;
      }
    }
    return deleted;
  }

  /** Takes the rebuild lock; returns a release handle, or null when someone else holds it. */
  async acquireRebuildLock(ttlMs = 30_000): Promise<RebuildLock | null> {
    const owner = randomUUID();
    const key = this.keys.rebuildLock(this.topic);
    const ok = await this.redis.set(key, owner, "PX", ttlMs, "NX");
    if (ok !== "OK") return null;
    const call = (op: "refresh" | "release") =>
      this.execWithScripts(() => {
        const pipeline = this.redis.pipeline();
        pipeline.call("EVALSHA", [luaScript("rebuild_lock").sha, 1, key, op, owner, ttlMs]);
        return pipeline;
      });
    const timer = setInterval(
      () => {
        call("refresh").catch(() => undefined);
      },
      Math.max(1_000, Math.floor(ttlMs / 3)),
    );
    timer.unref();
    return {
      async release() {
        clearInterval(timer);
        await call("release");
      },
    };
  }

  async isRebuildLocked(): Promise<boolean> {
    return (await this.redis.exists(this.keys.rebuildLock(this.topic))) === 1;
  }

  /**
   * Replaces the whole state with a snapshot (rebuild after Redis lost its data). Order matters:
   * the sentinel goes first (running trackers stop committing), then every key, then the advertisers
   * (each atomically, tagged with a new epoch that refuses writes from trackers that missed the rebuild),
   * then the sentinel with the snapshot's offsets, then a `reset` message for ad-server caches.
   * Hold the rebuild lock around it.
   */
  async restore(
    snapshot: RestoreSnapshot,
    onProgress?: (done: number, total: number) => void,
  ): Promise<RestoreOutcome> {
    const metaKey = this.keys.meta(this.topic);
    const [storedEpoch, storedGeneration] = await this.redis.hmget(metaKey, "epoch", "generation");
    const previousEpoch = toInt(storedEpoch) ?? 0;
    const nowMs = this.clock();
    const epoch = Math.max(nowMs, previousEpoch + 1, (this.knownEpoch ?? 0) + 1);
    // The snapshot's offsets belong to its generation (the warehouse's); a replay keeps the one Redis had.
    const generation = snapshot.generation ?? toInt(storedGeneration) ?? this.knownGeneration;
    this.knownGeneration = generation;
    // Operator pauses are not in the warehouse: carry over those still in Redis.
    const paused = new Set(
      [...(await this.readStates()).values()].filter((s) => s.paused).map((s) => s.advertiserId),
    );
    await this.redis.del(metaKey);
    const deletedKeys = await this.wipe();

    const advertisers = [...snapshot.advertisers];
    for (const advertiserId of paused) {
      if (!advertisers.some((a) => a.advertiserId === advertiserId)) {
        advertisers.push({
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
    const total = advertisers.length;
    const period = snapshot.period;
    let clickIds = 0;
    onProgress?.(0, total);
    for (let from = 0; from < total; from += RESTORE_CHUNK) {
      const chunk = advertisers.slice(from, from + RESTORE_CHUNK);
      const extra: [string, string[]][] = [];
      await this.execWithScripts(() => {
        extra.length = 0;
        const pipeline = this.redis.pipeline();
        for (const advertiser of chunk) {
          const isPaused = paused.has(advertiser.advertiserId);
          const args = this.restoreArgs(advertiser, period, snapshot.offsets, epoch, nowMs, isPaused, extra);
          pipeline.call("EVALSHA", args);
          const slice = emptySlice(advertiser.advertiserId, period);
          // No per-advertiser messages: one `reset` at the end tells caches to drop everything.
          pipeline.call("EVALSHA", this.sliceArgs(slice, epoch, nowMs, false, ""));
        }
        return pipeline;
      });
      for (const [key, ids] of extra) {
        for (let i = 0; i < ids.length; i += CLICK_IDS_PER_CALL) {
          await this.redis.sadd(key, ...ids.slice(i, i + CLICK_IDS_PER_CALL));
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
    await this.redis.hset(metaKey, ...metaFields);
    this.knownEpoch = epoch;
    if (this.channel !== "")
      await this.redis.publish(this.channel, JSON.stringify({ type: "reset", at: nowMs }));
    return { epoch, advertisers: total, clickIds, deletedKeys };
  }

  private restoreArgs(
    advertiser: SnapshotAdvertiser,
    period: PeriodWindow,
    offsets: readonly PartitionOffset[],
    epoch: number,
    nowMs: number,
    paused: boolean,
    extra: [string, string[]][],
  ): (string | number)[] {
    const id = advertiser.advertiserId;
    for (const value of [advertiser.netMicros, advertiser.grossMicros, advertiser.clicks]) {
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
    for (const { partition, offset } of offsets)
      fields.push(`_off:${this.lineageTopic}:${partition}`, offset - 1);
    if (paused) fields.push("_paused", "1");

    // Group the click ids by dedup bucket (the period; the UTC day for lifetime budgets).
    const buckets = new Map<string, { ttl: number; ids: string[] }>();
    for (const { clickId, eventTimeMs } of advertiser.clickIds) {
      const window = this.budgetPeriod === "lifetime" ? utcDay(eventTimeMs) : this.periodOf(eventTimeMs);
      let bucket = buckets.get(window.id);
      if (bucket === undefined) {
        bucket = { ttl: dedupTtlSeconds(window.startMs, window.endMs, nowMs, this.dedupHorizonMs), ids: [] };
        buckets.set(window.id, bucket);
      }
      bucket.ids.push(clickId);
    }
    const keys = [this.keys.advertiser(id), this.keys.pending(id)];
    const tail: (string | number)[] = [buckets.size];
    for (const [bucketId, bucket] of buckets) {
      const key = this.keys.dedup(id, bucketId);
      keys.push(key);
      const first = bucket.ids.slice(0, CLICK_IDS_PER_CALL);
      tail.push(bucket.ttl, first.length, ...first);
      if (bucket.ids.length > first.length) extra.push([key, bucket.ids.slice(first.length)]);
    }
    return [
      luaScript("restore_advertiser").sha,
      keys.length,
      ...keys,
      epoch,
      fields.length / 2,
      ...fields,
      ...tail,
    ];
  }
}
