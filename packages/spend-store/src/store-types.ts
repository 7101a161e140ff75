import type { BudgetMode, BudgetPeriod, BudgetSource, PacingMode } from "@adpipe/core";
import type { PeriodWindow } from "./records.js";

/** A partition and the next offset to consume in it (last applied + 1), as Kafka commits them. */
export interface PartitionOffset {
  readonly partition: number;
  readonly offset: number;
  /**
   * Event-time watermark applied up to this offset: the newest record timestamp (epoch ms) of the partition
   * applied so far. Reservations expire by it. Absent: unchanged (and absent when read back without one).
   */
  readonly watermarkMs?: number;
}

export interface MetaState {
  readonly epoch: number;
  readonly createdAtMs: number;
  /** Generation of the topic's log the offsets belong to (0 until a topic reset). */
  readonly generation: number;
  readonly offsets: readonly PartitionOffset[];
  /** A topic reset the tracker found and refuses to go past (RESET_POLICY=fail); null when none. */
  readonly resetDetected: TrackerResetDetection | null;
  /** The last reset applied (the audit id in Postgres ingest.offset_resets; "" when unaudited). */
  readonly lastReset: { readonly id: string; readonly atMs: number } | null;
}

/** What the tracker records in its meta hash when it finds the topic reset (for `adpipe status` and the reset). */
export interface TrackerResetDetection {
  readonly detectedAtMs: number;
  readonly partitions: readonly {
    readonly partition: number;
    readonly storedOffset: string;
    readonly logStartOffset: string;
    readonly logEndOffset: string;
    readonly reason: string;
  }[];
}

/** Outcome of SpendStore.resetPositions (reset_offsets.lua). */
export type ResetPositionsOutcome = "moved" | "already_moved" | "state_lost" | "generation_moved";

export interface ServingFlip {
  readonly advertiserId: string;
  readonly canServe: boolean;
}

export type BatchStatus =
  /** Applied and the offsets recorded. */
  | "applied"
  /** The sentinel is gone: Redis lost the state (or a rebuild is running). Do not commit; recover. */
  | "state_lost"
  /** A rebuild finished that this store had not seen: seek to the recorded offsets; do not commit. */
  | "epoch_changed"
  /** A topic reset moved the positions to a new log: seek to the recorded offsets; do not commit. */
  | "generation_changed";

export interface BatchOutcome {
  readonly status: BatchStatus;
  readonly advertisers: number;
  readonly applied: number;
  readonly duplicates: number;
  readonly replayed: number;
  readonly closedPeriod: number;
  readonly flips: readonly ServingFlip[];
}

export interface SweepOutcome {
  readonly period: PeriodWindow;
  /** Advertiser hashes listed. */
  readonly scanned: number;
  /** Of those, the hashes re-decided (one apply_slice call each); the pacing sweep skips the others. */
  readonly decided: number;
  readonly flips: readonly ServingFlip[];
  readonly epochChanged: boolean;
}

/** Period state of one advertiser as stored (for reconciliation and tests). */
export interface StoredState {
  readonly advertiserId: string;
  readonly period: string;
  readonly periodStartMs: number;
  readonly netMicros: number;
  readonly grossMicros: number;
  readonly clicks: number;
  readonly budgetMicros: number | null;
  readonly budgetEventTimeMs: number | null;
  /** Where the budget in force came from (supersedesBudget); null without a budget or before sources existed. */
  readonly budgetSource: BudgetSource | null;
  /** Budget mode in force (supersedesMode); observe when none was ever set. */
  readonly mode: BudgetMode;
  /** The period's valid spend beyond a hard_cap budget (billableMicros): in gross, never in net. */
  readonly overCapMicros: number;
  /** The calendar the period follows (hash fields budget_period, time_zone); null in hashes written before them. */
  readonly budgetPeriod: string | null;
  readonly timeZone: string | null;
  readonly canServe: boolean;
  readonly reason: string | null;
  readonly paused: boolean;
}

/** One advertiser's period state from the warehouse, for a rebuild. */
export interface SnapshotAdvertiser {
  readonly advertiserId: string;
  readonly netMicros: number;
  readonly grossMicros: number;
  readonly clicks: number;
  readonly budgetMicros: number | null;
  readonly budgetEventTimeMs: number | null;
  readonly budgetSource: BudgetSource | null;
  /** Over_cap part of the period's clicks (billing clamp); absent = 0. */
  readonly overCapMicros?: number;
  /** Budget mode in force and the event time that set it; absent or null = no mode set (observe). */
  readonly mode?: BudgetMode | null;
  readonly modeEventTimeMs?: number | null;
  /** Pacing in force and the event time that set it; absent or null = none set (asap). */
  readonly pacing?: PacingMode | null;
  readonly pacingEventTimeMs?: number | null;
  /**
   * A `shaped` advertiser's traffic shape (trafficShapeOf of Gold's last 7 days at the rebuild's instant),
   * written to `_shape` so the restored hash paces by it at once; absent or null: none (it paces even until the
   * tracker's shape refresh learns one). Ignored unless the pacing is `shaped`.
   */
  readonly shape?: readonly number[] | null;
  /** click_ids already counted in the period, with their event times (they pick the dedup bucket). */
  readonly clickIds: readonly { readonly clickId: string; readonly eventTimeMs: number }[];
  /**
   * The advertiser's own calendar (some update set its period or zone; absent: the service-wide one): written
   * to budget_period, time_zone, _period_ts, _tz_ts, and its `window` replaces the snapshot's period. Its
   * click ids are deduplicated by UTC day, as the tracker does for such advertisers.
   */
  readonly calendar?: SnapshotCalendar;
}

/** An advertiser's own calendar in a snapshot (see SnapshotAdvertiser.calendar). */
export interface SnapshotCalendar {
  readonly period: BudgetPeriod;
  readonly timeZone: string;
  /** Event times of the updates that set the period / zone; null: that setting was never set. */
  readonly periodEventTimeMs: number | null;
  readonly zoneEventTimeMs: number | null;
  /** Its current period (clickPeriodOf at the rebuild's instant): what the totals cover. */
  readonly window: PeriodWindow;
}

export interface RestoreSnapshot {
  /** The period the state belongs to (the current one by the clock). */
  readonly period: PeriodWindow;
  readonly advertisers: readonly SnapshotAdvertiser[];
  /** Next offsets the snapshot covers: the tracker resumes from here (0 for partitions not listed). */
  readonly offsets: readonly PartitionOffset[];
  /** Generation of the topic's log the offsets belong to (default: the one Redis had). */
  readonly generation?: number;
}

export interface RestoreOutcome {
  readonly epoch: number;
  readonly advertisers: number;
  readonly clickIds: number;
  readonly deletedKeys: number;
}

export interface RebuildLock {
  release(): Promise<void>;
}
