import type { BudgetPeriod } from "@adpipe/core";
import { applySlices } from "./apply-batch.js";
import { CalendarMemory, readCalendars } from "./calendars.js";
import { SpendStoreError } from "./errors.js";
import { type ForecastRefreshOutcome, refreshForecasts } from "./forecast-refresh.js";
import type { SpendKeys } from "./keys.js";
import type { KeyspacePassStats } from "./keyspace-pass.js";
import * as metaHash from "./meta-hash.js";
import { pauseAdvertiser } from "./pause.js";
import { acquireRebuildLock, isRebuildLocked } from "./rebuild-lock.js";
import type { PeriodWindow, SpendRecord } from "./records.js";
import { expireReservations, type ReservationExpiryOutcome } from "./reservation-expiry.js";
import { restore } from "./restore.js";
import { loadScripts } from "./scripts.js";
import { refreshShapes, type ShapeHistorySource, type ShapeRefreshOutcome } from "./shape-refresh.js";
import { SliceBatch } from "./slices.js";
import {
  type SpendStoreOptions,
  type StoreContext,
  type StorePosition,
  storeContext,
} from "./store-context.js";
import type {
  BatchOutcome,
  MetaState,
  PartitionOffset,
  RebuildLock,
  ResetPositionsOutcome,
  RestoreOutcome,
  RestoreSnapshot,
  ServingFlip,
  StoredState,
  SweepOutcome,
  TrackerResetDetection,
} from "./store-types.js";
import { hasAdvertiserState, readState, readStates } from "./stored-state.js";
import { sweep } from "./sweep.js";
import { wipe } from "./wipe.js";

/**
 * Per-advertiser spend and serving state in Redis, maintained exactly once from Kafka batches.
 * All writes go through the Lua scripts in `lua/`, loaded once and called by SHA. Each job lives in its
 * own module (apply-batch, sweep, pause, restore, meta-hash, ...); this class holds what they share.
 */
export class SpendStore {
  readonly keys: SpendKeys;
  readonly topic: string;
  readonly budgetPeriod: BudgetPeriod;
  readonly timeZone: string;
  readonly dedupHorizonMs: number;
  private readonly context: StoreContext;
  private readonly position: StorePosition = { epoch: null, generation: 0 };
  /** The advertisers' calendars as the applied batches left them (see CalendarMemory). */
  private readonly calendars: CalendarMemory;

  constructor(options: SpendStoreOptions) {
    this.context = storeContext(options, this.position);
    this.calendars = new CalendarMemory({
      period: this.context.budgetPeriod,
      timeZone: this.context.timeZone,
    });
    this.keys = this.context.keys;
    this.topic = this.context.topic;
    this.budgetPeriod = this.context.budgetPeriod;
    this.timeZone = this.context.timeZone;
    this.dedupHorizonMs = this.context.dedupHorizonMs;
  }

  /** The epoch this store writes with (from the meta hash), null before start/createSentinel/restore. */
  get epoch(): number | null {
    return this.position.epoch;
  }

  periodOf(timeMs: number): PeriodWindow {
    return this.context.periodOf(timeMs);
  }

  /** The store's clock (epoch ms): Date.now unless a clock was injected. */
  now(): number {
    return this.context.clock();
  }

  currentPeriod(): PeriodWindow {
    return this.periodOf(this.context.clock());
  }

  /** Loads the Lua scripts (SCRIPT LOAD); call once before anything else. */
  async loadScripts(): Promise<void> {
    await loadScripts(this.context.redis);
  }

  /** The topic generation this store writes with (from the meta hash; 0 until a topic reset). */
  get generation(): number {
    return this.position.generation;
  }

  /**
   * The topic name under which advertiser hashes keep their applied offsets (`_off:<name>:<partition>`): the
   * topic itself in generation 0, `<topic>#g<n>` after a reset, so a new log's offsets are never replays.
   */
  get lineageTopic(): string {
    return this.context.lineageTopic();
  }

  /** Writes from now on with the epoch and generation of this meta state (after a rebuild or reset elsewhere). */
  adopt(meta: MetaState): void {
    this.position.epoch = meta.epoch;
    this.position.generation = meta.generation;
    this.calendars.forget();
    // A rebuild (here or elsewhere) rewrote the keyspace: the next periodic job scans it again.
    this.context.pass.forget();
  }

  /** SCAN passes run by the periodic jobs' shared pass so far, and their SCAN calls (keyspace-pass.ts). */
  keyspacePassStats(): Readonly<KeyspacePassStats> {
    return { ...this.context.pass.stats };
  }

  /**
   * Forgets the advertisers' calendars (read again from their hashes as batches need them): after a rebalance,
   * when another tracker may have applied updates to advertisers this one now owns.
   */
  forgetCalendars(): void {
    this.calendars.forget();
  }

  /**
   * Reads the calendars of the advertisers a filled batch did not know (one round trip; none when it knew
   * them all). Returns true when one of them has a calendar of its own: the batch was packed with the
   * service-wide one and must be filled again.
   */
  async learnCalendars(batch: SliceBatch): Promise<boolean> {
    if (batch.unknown.size === 0) return false;
    const stored = await readCalendars(this.context, [...batch.unknown]);
    let refill = false;
    for (const [id, state] of stored) {
      this.calendars.set(id, state);
      if (state.period !== null || state.timeZone !== null) refill = true;
    }
    return refill;
  }

  /** The sentinel and recorded offsets; null when the sentinel is missing. Does not adopt the epoch. */
  readMeta(): Promise<MetaState | null> {
    return metaHash.readMeta(this.context);
  }

  /**
   * Records (or, with null, clears) a topic reset the tracker found, in the meta hash: `adpipe status` and
   * `adpipe offsets reset` read it. Only while the hash is in `generation` (record_detection.lua): a finding made
   * before a reset moved the positions is stale and is dropped. Returns whether it was written.
   */
  recordResetDetection(detection: TrackerResetDetection | null, generation: number): Promise<boolean> {
    return metaHash.recordResetDetection(this.context, detection, generation);
  }

  /**
   * The tracker's part of a topic reset (reset_offsets.lua): from `fromGeneration` only; a new generation replaces
   * every position, the same generation moves them forward. Idempotent for a re-run.
   */
  resetPositions(step: metaHash.ResetPositionsStep): Promise<ResetPositionsOutcome> {
    return metaHash.resetPositions(this.context, step);
  }

  /** Creates the sentinel for a fresh start (no state anywhere yet); safe to race with other instances. */
  async createSentinel(): Promise<MetaState> {
    const meta = await metaHash.createSentinel(this.context);
    this.adopt(meta);
    return meta;
  }

  /** True when any advertiser hash exists under the prefix. */
  hasAdvertiserState(): Promise<boolean> {
    return hasAdvertiserState(this.context);
  }

  /** A batch to fill record by record (in offset order per partition), then send with applySlices. */
  newBatch(): SliceBatch {
    return new SliceBatch({
      periodOf: (timeMs) => this.periodOf(timeMs),
      dedupByDay: this.budgetPeriod === "lifetime",
      calendars: this.calendars,
    });
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
    let batch = this.newBatch();
    for (const record of records) batch.addRecord(record);
    if (await this.learnCalendars(batch)) {
      batch = this.newBatch();
      for (const record of records) batch.addRecord(record);
    }
    return this.applySlices(batch, progress);
  }

  /** applyBatch for a batch filled with newBatch() (records added in offset order per partition). */
  async applySlices(batch: SliceBatch, progress: readonly PartitionOffset[]): Promise<BatchOutcome> {
    const writer = { epoch: this.requireEpoch(), generation: this.position.generation };
    const outcome = await applySlices(this.context, batch, progress, writer);
    if (outcome.status === "applied") batch.rememberCalendars();
    else this.calendars.forget();
    return outcome;
  }

  /**
   * Re-decides advertiser hashes at the store's clock (see sweep.ts). `rollover`: the period rollover, every
   * hash, listed by a SCAN started now; else the pacing sweep: from the periodic jobs' shared pass, only the
   * hashes whose decision time can change (paced, or their period is over).
   */
  async sweep(rollover = false): Promise<SweepOutcome> {
    return sweep(this.context, this.requireEpoch(), rollover);
  }

  /**
   * Recomputes every hash's forecast fields at the store's clock (see forecast-refresh.ts). Needs no epoch: it
   * writes only into hashes whose spend, budget and period are still those it read.
   */
  refreshForecasts(): Promise<ForecastRefreshOutcome> {
    return refreshForecasts(this.context);
  }

  /**
   * Refreshes `_shape` of every `shaped` advertiser from `source` (Gold's last 7 days; see shape-refresh.ts).
   * Needs no epoch: set_shape writes only into hashes that still exist and still pace shaped.
   */
  refreshShapes(source: ShapeHistorySource): Promise<ShapeRefreshOutcome> {
    return refreshShapes(this.context, source);
  }

  /**
   * Releases the reservations whose expiry lies before `watermarkMs`, the event-time watermark applied across
   * the topic (appliedWatermark of @adpipe/core; see reservation-expiry.ts). Needs no epoch: it only ever
   * removes reservations, which a rebuild drops anyway.
   */
  expireReservations(watermarkMs: number): Promise<ReservationExpiryOutcome> {
    return expireReservations(this.context, watermarkMs);
  }

  /** The stored state of one advertiser; null when it has no hash. */
  readState(advertiserId: string): Promise<StoredState | null> {
    return readState(this.context, advertiserId);
  }

  /** Reads the state of every advertiser hash (SCAN + pipelined HMGET); for reconciliation and tests. */
  readStates(): Promise<Map<string, StoredState>> {
    return readStates(this.context);
  }

  /**
   * An operator pause (reason `paused`): survives clicks, rollovers and rebuilds. Uses the epoch in Redis
   * at the time of the call (an operator action is never stale), so any process may call it.
   */
  setPaused(advertiserId: string, paused: boolean): Promise<ServingFlip | null> {
    return pauseAdvertiser(this.context, advertiserId, paused);
  }

  /** Deletes every key of the store under the prefix (advertiser hashes, pending, dedup sets, the meta). */
  wipe(): Promise<number> {
    return wipe(this.context).finally(() => this.context.pass.forget());
  }

  /** Takes the rebuild lock; returns a release handle, or null when someone else holds it. */
  acquireRebuildLock(ttlMs = 30_000): Promise<RebuildLock | null> {
    return acquireRebuildLock(this.context, ttlMs);
  }

  isRebuildLocked(): Promise<boolean> {
    return isRebuildLocked(this.context);
  }

  /**
   * Replaces the whole state with a snapshot (rebuild after Redis lost its data) under a new epoch, then
   * writes with it (see restore.ts for the order of the steps). Hold the rebuild lock around it.
   */
  restore(
    snapshot: RestoreSnapshot,
    onProgress?: (done: number, total: number) => void,
  ): Promise<RestoreOutcome> {
    // Restored hashes are new keys: the periodic jobs must not go on with a pass from before the restore.
    return restore(this.context, this.position, snapshot, onProgress).finally(() =>
      this.context.pass.forget(),
    );
  }

  private requireEpoch(): number {
    if (this.position.epoch === null) {
      throw new SpendStoreError(
        "state_lost",
        "no state epoch: call readMeta, createSentinel or restore first",
      );
    }
    return this.position.epoch;
  }
}
