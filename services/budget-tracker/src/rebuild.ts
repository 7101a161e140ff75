import type { SpendStore } from "@adpipe/spend-store";
import { type RebuildSource, rebuildState } from "@adpipe/store-sync";
import type { Logger } from "@adpipe/telemetry";
import type { Pool } from "pg";
import { TrackerError } from "./errors.js";
import type { TrackerMetrics } from "./metrics.js";

export interface RebuildDeps {
  readonly store: SpendStore;
  readonly pool: Pool | null;
  readonly rebuildSource: RebuildSource["kind"];
  readonly warehousePipeline?: string;
  readonly logger: Logger;
  readonly metrics: TrackerMetrics;
}

/**
 * Rebuilds the Redis state from the warehouse (or a replay of the topic) after Redis lost it, logging progress
 * in tenths. Returns the id of the period the state was rebuilt for (it needs no rollover sweep). Callers hold
 * the rebuild lock.
 */
export async function rebuildRedisState(deps: RebuildDeps): Promise<string> {
  const { pool, rebuildSource, logger } = deps;
  let source: RebuildSource;
  if (rebuildSource === "replay") source = { kind: "replay" };
  else if (pool === null) {
    throw new TrackerError(
      "rebuild_unavailable",
      "Redis lost the tracker state and DATABASE_URL is not set: set it (or REBUILD_SOURCE=replay) to rebuild",
    );
  } else {
    source = {
      kind: "warehouse",
      pool,
      ...(deps.warehousePipeline === undefined ? {} : { pipeline: deps.warehousePipeline }),
    };
  }
  let logged = 0;
  const outcome = await rebuildState(deps.store, source, (done, total) => {
    if (done === total || done - logged >= Math.max(1, Math.floor(total / 10))) {
      logged = done;
      logger.info({ done, total }, "rebuilding advertisers");
    }
  });
  deps.metrics.rebuilds.inc({ source: source.kind });
  logger.warn(
    {
      source: outcome.source,
      period: outcome.period,
      advertisers: outcome.advertisers,
      clickIds: outcome.clickIds,
      epoch: outcome.epoch,
    },
    "rebuilt the Redis state",
  );
  return outcome.period;
}
