import { setTimeout as sleep } from "node:timers/promises";
import type { Pool } from "pg";
import { SpendStoreError } from "./errors.js";
import { type PeriodTotals, type ReconcileReport, reconcileTotals } from "./reconcile.js";
import type { RebuildLock, RestoreOutcome, RestoreSnapshot, SpendStore } from "./store.js";
import { loadWarehouseSnapshot } from "./warehouse-snapshot.js";

/** Where a rebuild takes the state from. */
export type RebuildSource =
  /** Postgres Silver (period totals and click_ids) at the ingestor's offsets, then resume from those. */
  | { readonly kind: "warehouse"; readonly pool: Pool; readonly pipeline?: string }
  /** Nothing: every partition is read again from its earliest offset (exact while retention covers the period). */
  | { readonly kind: "replay" };

export interface RebuildOutcome extends RestoreOutcome {
  readonly source: RebuildSource["kind"];
  readonly period: string;
}

/**
 * Rebuilds the whole Redis state for the current period. Callers hold the rebuild lock (withRebuildLock)
 * so that tracker instances and the CLI never rebuild at the same time.
 */
export async function rebuildState(
  store: SpendStore,
  source: RebuildSource,
  onProgress?: (done: number, total: number) => void,
): Promise<RebuildOutcome> {
  const period = store.currentPeriod();
  const snapshot: RestoreSnapshot =
    source.kind === "replay"
      ? { period, advertisers: [], offsets: [] }
      : await loadWarehouseSnapshot(source.pool, {
          topic: store.topic,
          period,
          ...(source.pipeline === undefined ? {} : { pipeline: source.pipeline }),
        });
  const outcome = await store.restore(snapshot, onProgress);
  return { ...outcome, source: source.kind, period: period.id };
}

/**
 * Runs `work` holding the rebuild lock. When another process holds it, waits (polling) up to `waitMs`
 * and then fails with code rebuild_failed.
 */
export async function withRebuildLock<T>(
  store: SpendStore,
  work: () => Promise<T>,
  options: { waitMs?: number; pollMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  let lock: RebuildLock | null = await store.acquireRebuildLock();
  while (lock === null) {
    if (Date.now() >= deadline) {
      throw new SpendStoreError("rebuild_failed", "another process holds the rebuild lock");
    }
    await sleep(options.pollMs ?? 250);
    lock = await store.acquireRebuildLock();
  }
  try {
    return await work();
  } finally {
    await lock.release();
  }
}

/**
 * Compares the Redis period state with Postgres for the current period. Redis offsets are read before
 * and after, so `offsetsApart` is only 0 when both pipelines stood at the same records throughout.
 */
export async function reconcileWithWarehouse(
  store: SpendStore,
  pool: Pool,
  options: { pipeline?: string } = {},
): Promise<ReconcileReport> {
  const period = store.currentPeriod();
  const before = await store.readMeta();
  const snapshot = await loadWarehouseSnapshot(pool, {
    topic: store.topic,
    period,
    withClickIds: false,
    ...(options.pipeline === undefined ? {} : { pipeline: options.pipeline }),
  });
  const states = await store.readStates();
  const after = await store.readMeta();
  const redisOffsets = after?.offsets ?? [];
  const moved = JSON.stringify(before?.offsets ?? []) !== JSON.stringify(redisOffsets);
  const totals: PeriodTotals[] = [...snapshot.totals];
  const report = reconcileTotals(period, states.values(), totals, {
    redis: redisOffsets,
    warehouse: snapshot.offsets,
  });
  // The tracker applied records while Redis was read, or the two stand on different logs of the topic (one of
  // them has not followed a reset yet): the comparison is not of one point in time.
  const apart = moved || (after?.generation ?? 0) !== snapshot.generation;
  return apart ? { ...report, offsetsApart: Math.max(1, report.offsetsApart) } : report;
}
