import { hostname } from "node:os";
import type { TopicLogReader, TopicResetGuard } from "@adpipe/kafka";
import type { MetaState, SpendStore } from "@adpipe/spend-store";
import type { Logger } from "@adpipe/telemetry";
import { isWarehouseError, markOffsetReset, startOffsetReset } from "@adpipe/warehouse";
import type { Pool } from "pg";
import type { TrackerMetrics } from "./metrics.js";

export interface ResetToEarliestDeps {
  readonly topic: string;
  readonly groupId: string;
  readonly store: SpendStore;
  readonly pool: Pool | null;
  readonly logReader: TopicLogReader;
  /** Says what was found (the audit's reason). */
  readonly guard: TopicResetGuard;
  readonly logger: Logger;
  readonly metrics: TrackerMetrics;
}

/**
 * RESET_POLICY=earliest: moves the tracker's positions to the start of the new log, in the next generation,
 * audited in Postgres when DATABASE_URL is set (always recorded in the meta hash: reset_id, reset_at).
 * Resolves true once reset_offsets.lua answered (the caller then re-reads the positions), false when a step
 * failed (logged; retried at the next check).
 */
export async function resetToEarliest(deps: ResetToEarliestDeps, meta: MetaState): Promise<boolean> {
  const { topic, pool, store, logger } = deps;
  const log = await deps.logReader.read();
  const positions = log.partitions.map((p) => ({ partition: p.partition, offset: Number(p.start) }));
  const reason = `RESET_POLICY=earliest: ${deps.guard.reason() ?? "topic reset detected"}`;
  let resetId = "";
  try {
    if (pool !== null) {
      resetId = await startOffsetReset(pool, {
        topic,
        target: "earliest",
        actor: `budget-tracker ${deps.groupId} @${hostname()} pid ${process.pid}`,
        reason,
        source: "reset_policy",
        plan: {
          tracker: {
            prefix: store.keys.prefix,
            fromGeneration: meta.generation,
            toGeneration: meta.generation + 1,
            moves: positions.map((p) => ({
              partition: p.partition,
              from: meta.offsets.find((o) => o.partition === p.partition)?.offset ?? null,
              to: p.offset,
              change: "new_log",
            })),
          },
        },
      });
    } else {
      logger.warn(
        { topic },
        "RESET_POLICY=earliest without DATABASE_URL: the reset is not audited in Postgres",
      );
    }
    const outcome = await store.resetPositions({
      fromGeneration: meta.generation,
      toGeneration: meta.generation + 1,
      resetId,
      positions,
    });
    if (pool !== null && resetId !== "") {
      await markOffsetReset(
        pool,
        resetId,
        outcome === "moved" || outcome === "already_moved" ? "tracker" : "abandoned",
      );
      if (outcome === "moved" || outcome === "already_moved")
        await markOffsetReset(pool, resetId, "completed");
    }
    deps.metrics.topicResets.inc({ policy: "earliest" });
    logger.warn(
      {
        topic,
        outcome,
        resetId,
        fromGeneration: meta.generation,
        toGeneration: meta.generation + 1,
        positions,
      },
      "RESET_POLICY=earliest: tracker positions moved to the start of the new log",
    );
    return true;
  } catch (error) {
    if (pool !== null && resetId !== "")
      await markOffsetReset(pool, resetId, "abandoned").catch(() => undefined);
    const refused = isWarehouseError(error) && error.code === "ADP_WAREHOUSE_RESET_REFUSED";
    logger[refused ? "warn" : "error"](
      { err: error, topic },
      "RESET_POLICY=earliest: resetting the tracker's positions failed; retried at the next check",
    );
    return false;
  }
}
