import type { SpendStore } from "@adpipe/spend-store";
import { type ReconcileReport, reconcileWithWarehouse } from "@adpipe/store-sync";
import type { Logger } from "@adpipe/telemetry";
import type { Pool } from "pg";
import type { TrackerMetrics } from "./metrics.js";

export interface ReconcileDeps {
  readonly store: SpendStore;
  readonly pool: Pool | null;
  readonly warehousePipeline?: string;
  readonly logger: Logger;
  readonly metrics: TrackerMetrics;
}

/**
 * Compares Redis with Postgres for the current period; null without a pool. A failure (Postgres down) is
 * logged and counted, and never stops applying.
 */
export async function reconcileOnce(deps: ReconcileDeps): Promise<ReconcileReport | null> {
  const { pool, logger, metrics } = deps;
  if (pool === null) return null;
  try {
    const report = await reconcileWithWarehouse(
      deps.store,
      pool,
      deps.warehousePipeline === undefined ? {} : { pipeline: deps.warehousePipeline },
    );
    metrics.recordReconcile(report);
    const log = report.mismatched.length === 0 || report.offsetsApart > 0 ? "debug" : "warn";
    logger[log](
      {
        period: report.period.id,
        mismatched: report.mismatched.length,
        netAbsDiffMicros: report.netAbsDiffMicros,
        offsetsApart: report.offsetsApart,
      },
      "reconciled Redis with Postgres",
    );
    return report;
  } catch (error) {
    metrics.reconcileRuns.inc({ result: "error" });
    logger.warn({ err: error }, "reconciliation failed (Postgres unreachable?); applying continues");
    return null;
  }
}
