import type { RestoreOutcome, RestoreSnapshot, SpendStore } from "@adpipe/spend-store";
import type { Pool } from "pg";
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
 * so that tracker instances and the CLI never rebuild at the same time. From the warehouse, `shaped`
 * advertisers get their traffic shape (`_shape`) learnt from Gold at once, so they never pace even until the
 * tracker's next shape refresh.
 */
export async function rebuildState(
  store: SpendStore,
  source: RebuildSource,
  onProgress?: (done: number, total: number) => void,
): Promise<RebuildOutcome> {
  const nowMs = store.now();
  const period = store.periodOf(nowMs);
  const snapshot: RestoreSnapshot =
    source.kind === "replay"
      ? { period, advertisers: [], offsets: [] }
      : await loadWarehouseSnapshot(source.pool, {
          topic: store.topic,
          period,
          calendars: { defaults: { period: store.budgetPeriod, timeZone: store.timeZone }, nowMs },
          shapes: { atMs: nowMs, timeZone: store.timeZone },
          ...(source.pipeline === undefined ? {} : { pipeline: source.pipeline }),
        });
  const outcome = await store.restore(snapshot, onProgress);
  return { ...outcome, source: source.kind, period: period.id };
}
