import {
  type BudgetPeriod,
  budgetPeriodOf,
  DEFAULT_PACING_TOLERANCE_BP,
  generationTopic,
} from "@adpipe/core";
import {
  DEFAULT_KEY_PREFIX,
  isRedisCluster,
  MAX_RESERVATION_TTL_MS,
  servingChangesChannel,
} from "@adpipe/serving-client";
import type { Cluster, Redis } from "ioredis";
import { type SpendKeys, spendKeys } from "./keys.js";
import { KeyspacePass } from "./keyspace-pass.js";
import type { PeriodWindow } from "./records.js";

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
  /**
   * How long after a restore hard_cap reservations stay refused (the guards' reserve_hold_until): the longest
   * TTL a reservation lost with the old state may have. Default MAX_RESERVATION_TTL_MS.
   */
  reservationHoldMs?: number;
  /** Injectable clock (epoch ms): period rollover and updated_at. Default Date.now. */
  clock?: () => number;
  /** Publish can_serve changes on `<prefix>serving-changes`. Default true. */
  publishChanges?: boolean;
  /** Pacing tolerance above the target curve, basis points of the budget. Default 500 (5 %). */
  pacingToleranceBp?: number;
  /**
   * How long one SCAN pass over the advertiser and reservation keys is shared by the periodic jobs (sweep,
   * forecast and shape refresh, reservation expiry; keyspace-pass.ts). Default 0: every job scans anew.
   */
  scanReuseMs?: number;
}

/**
 * What every job of the store (apply, sweep, pause, restore, ...) shares: its configuration, and the topic
 * lineage it writes under now (it follows the store's generation).
 */
export interface StoreContext {
  /** A connected ioredis client (standalone or Cluster). The store does not close it. */
  readonly redis: Redis | Cluster;
  /** A Redis Cluster: pipelines per node, and the sentinel's epoch in a guard per slot (state-guards.ts). */
  readonly clustered: boolean;
  readonly keys: SpendKeys;
  /** The Kafka topic whose records the store applies (offsets and the sentinel are per topic). */
  readonly topic: string;
  readonly budgetPeriod: BudgetPeriod;
  readonly timeZone: string;
  /** Dedup sets live until their bucket ends plus this. */
  readonly dedupHorizonMs: number;
  readonly reservationHoldMs: number;
  /** Epoch ms: period rollover and updated_at. */
  readonly clock: () => number;
  /** Where can_serve changes are published; "" = not published. */
  readonly channel: string;
  /** Pacing tolerance above the target curve, basis points of the budget (decidePacing). */
  readonly pacingToleranceBp: number;
  /** The periodic jobs' one shared SCAN of the advertiser and reservation keys. */
  readonly pass: KeyspacePass;
  /** The budget period containing an instant (epoch ms), in the store's zone. */
  periodOf(timeMs: number): PeriodWindow;
  /**
   * The topic name under which advertiser hashes keep their applied offsets (`_off:<name>:<partition>`): the
   * topic itself in generation 0, `<topic>#g<n>` after a reset, so a new log's offsets are never replays.
   */
  lineageTopic(): string;
}

/**
 * The options with their defaults applied, the lineage following `position`. Fails on a time zone or period
 * budgetPeriodOf does not know.
 */
export function storeContext(options: SpendStoreOptions, position: StorePosition): StoreContext {
  const keys = spendKeys(options.prefix ?? DEFAULT_KEY_PREFIX);
  const budgetPeriod = options.budgetPeriod ?? "day";
  const timeZone = options.timeZone ?? "UTC";
  const clock = options.clock ?? Date.now;
  const periodOf = (timeMs: number) => budgetPeriodOf(timeMs, budgetPeriod, timeZone);
  periodOf(clock());
  return {
    redis: options.redis,
    clustered: isRedisCluster(options.redis),
    keys,
    topic: options.topic,
    budgetPeriod,
    timeZone,
    dedupHorizonMs: options.dedupHorizonMs ?? DEFAULT_DEDUP_HORIZON_MS,
    reservationHoldMs: options.reservationHoldMs ?? MAX_RESERVATION_TTL_MS,
    clock,
    channel: options.publishChanges === false ? "" : servingChangesChannel(keys.prefix),
    pacingToleranceBp: options.pacingToleranceBp ?? DEFAULT_PACING_TOLERANCE_BP,
    pass: new KeyspacePass(options.redis, keys, options.scanReuseMs ?? 0),
    periodOf,
    lineageTopic: () => generationTopic(options.topic, position.generation),
  };
}

/** The state epoch and topic generation a store writes with (from the meta hash); a restore moves both. */
export interface StorePosition {
  /** null before the store read, created or restored the meta hash. */
  epoch: number | null;
  /** 0 until a topic reset. */
  generation: number;
}
