import type { SpendStore } from "@adpipe/spend-store";
import type { Pool } from "pg";
import { type PeriodTotals, type ReconcileReport, reconcileTotals } from "./reconcile.js";
import { loadWarehouseSnapshot } from "./warehouse-snapshot.js";

/**
 * Compares the Redis period state with Postgres for the current period. Redis offsets are read before
 * and after, so `offsetsApart` is only 0 when both pipelines stood at the same records throughout.
 */
export async function reconcileWithWarehouse(
  store: SpendStore,
  pool: Pool,
  options: { pipeline?: string } = {},
): Promise<ReconcileReport> {
  const nowMs = store.now();
  const period = store.periodOf(nowMs);
  const before = await store.readMeta();
  const snapshot = await loadWarehouseSnapshot(pool, {
    topic: store.topic,
    period,
    withClickIds: false,
    calendars: { defaults: { period: store.budgetPeriod, timeZone: store.timeZone }, nowMs },
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
