import type { ParseOptions, ResetPolicy } from "@adpipe/core";
import type { BatchOutcome, SpendStore } from "@adpipe/spend-store";
import type { RebuildSource } from "@adpipe/store-sync";
import type { Logger } from "@adpipe/telemetry";
import type { Kafka } from "kafkajs";
import type { Pool } from "pg";
import type { TrackerMetrics } from "./metrics.js";

/** What one applied batch looked like (for benchmarks and tests). */
export interface AppliedBatch {
  readonly partition: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  /** Kafka record timestamps of the batch, in offset order. */
  readonly recordTimestampsMs: readonly number[];
  /** Wall-clock time the batch reached the tracker (before parsing). */
  readonly receivedAtMs: number;
  /** Wall-clock time the Redis round trip completed. */
  readonly appliedAtMs: number;
  readonly outcome: BatchOutcome;
}

export interface TrackerIntervals {
  /** Check for a new budget period (then sweep every hash); 0 = never. */
  readonly rolloverCheckMs: number;
  /** Re-evaluate paced advertisers (a sweep of every hash); 0 or absent = never. */
  readonly pacingCheckMs?: number;
  /** Check the sentinel and the epoch; 0 = never. */
  readonly stateCheckMs: number;
  /** Compare Redis with Postgres; 0 = never (also when no pool is given). */
  readonly reconcileMs: number;
  /** Release reservations expired by the applied watermark; 0 or absent = never. */
  readonly reservationSweepMs?: number;
  /** Recompute every hash's forecast fields; 0 or absent = never. */
  readonly forecastRefreshMs?: number;
  /** Learn shaped advertisers' traffic shapes from Gold; 0 or absent = never (also when no pool is given). */
  readonly shapeRefreshMs?: number;
}

export interface BudgetTrackerOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly groupId: string;
  readonly store: SpendStore;
  readonly parseOptions: Omit<ParseOptions, "referenceTimeMs">;
  readonly logger: Logger;
  readonly metrics: TrackerMetrics;
  /** Postgres for rebuild (source warehouse) and reconciliation; null when DATABASE_URL is unset. */
  readonly pool: Pool | null;
  readonly warehousePipeline?: string;
  readonly rebuildSource: RebuildSource["kind"];
  readonly intervals: TrackerIntervals;
  readonly maxWaitTimeInMs?: number;
  /** Fetch size per partition (kafkajs maxBytesPerPartition); kafkajs' default 1 MiB when unset. */
  readonly maxBytesPerPartition?: number;
  readonly sessionTimeoutMs?: number;
  /** Partitions whose batches are applied at the same time. Default 4. */
  readonly partitionsConcurrently?: number;
  /** What to do when the topic was reset under the tracker (deleted and recreated). Default fail. */
  readonly resetPolicy?: ResetPolicy;
  /** How often positions are compared with the log and a reset applied elsewhere is looked for; 0 = never. */
  readonly topicCheckMs?: number;
  readonly onBatchApplied?: (batch: AppliedBatch) => void;
}
