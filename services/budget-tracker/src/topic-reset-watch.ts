import { type DetectedReset, detectResets, type ResetPolicy } from "@adpipe/core";
import { TopicLogReader, TopicResetGuard } from "@adpipe/kafka";
import type { MetaState, SpendStore } from "@adpipe/spend-store";
import type { Logger } from "@adpipe/telemetry";
import { clearResetDetections, recordResetDetections } from "@adpipe/warehouse";
import type { Kafka } from "kafkajs";
import type { Pool } from "pg";
import type { TrackerMetrics } from "./metrics.js";
import type { PartitionPositions } from "./partition-positions.js";
import { resetToEarliest } from "./reset-to-earliest.js";

export interface TopicResetWatchDeps {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly groupId: string;
  readonly resetPolicy: ResetPolicy;
  readonly store: SpendStore;
  readonly pool: Pool | null;
  readonly logger: Logger;
  readonly metrics: TrackerMetrics;
  readonly positions: PartitionPositions;
  /** Stops fetching the topic. */
  readonly pauseTopic: () => void;
  /** The recorded positions moved to a new generation (here or elsewhere): the tracker re-reads them. */
  readonly positionsMoved: () => void;
  /** A recovery runs or the tracker stops: the periodic check skips its turn. */
  readonly busy: () => boolean;
}

/**
 * Watches for the topic being reset under the tracker (deleted and recreated: recorded positions beyond the
 * log end), reports it everywhere, and keeps the tracker from consuming until the positions fit a log again.
 */
export class TopicResetWatch {
  private readonly guard: TopicResetGuard;
  private readonly logReader: TopicLogReader;
  private resetting: Promise<void> | null = null;
  /** The generation a detected reset was reported in (null: none reported); Postgres rows to clear afterwards. */
  private reportedGeneration: number | null = null;

  constructor(private readonly deps: TopicResetWatchDeps) {
    this.logReader = new TopicLogReader(deps.kafka, deps.topic);
    this.guard = new TopicResetGuard({
      topic: deps.topic,
      consumer: deps.groupId,
      policy: deps.resetPolicy,
      logger: deps.logger,
      onChange: (resets) => {
        deps.metrics.topicResetDetected.reset();
        for (const reset of resets)
          deps.metrics.topicResetDetected.set({ partition: String(reset.partition) }, 1);
      },
    });
  }

  /** Throws the reason while a topic reset keeps the tracker from consuming (a readiness check). */
  check(): void {
    this.guard.check();
  }

  /** A reported reset keeps the tracker from consuming. */
  get blocked(): boolean {
    return this.guard.blocked;
  }

  /** The assigned partitions whose recorded position lies beyond the log end (one ListOffsets request). */
  async findResets(meta: MetaState): Promise<DetectedReset[]> {
    const log = await this.logReader.read();
    const assigned = new Set(this.deps.positions.assigned.map((a) => a.partition));
    const stored = new Map(
      meta.offsets.filter((o) => assigned.has(o.partition)).map((o) => [o.partition, BigInt(o.offset)]),
    );
    return detectResets(this.deps.topic, stored, log.partitions, { topicId: log.topicId });
  }

  /**
   * A reset was found (at assignment, by a fetch or by the periodic check): stop consuming the topic, say so
   * everywhere (log, metric, /readyz, the meta hash for `adpipe status`, Postgres for the dashboard), and with
   * RESET_POLICY=earliest reset the tracker's positions to the new log's start.
   */
  async detected(resets: readonly DetectedReset[], meta: MetaState): Promise<void> {
    const { store, logger, pool, topic, groupId } = this.deps;
    // The log was read after `meta`: a reset applied meanwhile makes this finding stale (the positions moved).
    const latest = await store.readMeta();
    if (latest === null || latest.generation !== meta.generation || store.generation !== meta.generation)
      return;
    this.deps.pauseTopic();
    this.guard.report(resets, { generation: meta.generation });
    this.reportedGeneration = meta.generation;
    await store
      .recordResetDetection(
        {
          detectedAtMs: Date.now(),
          partitions: this.guard.resets.map((r) => ({
            partition: r.partition,
            storedOffset: r.storedOffset.toString(),
            logStartOffset: r.logStartOffset.toString(),
            logEndOffset: r.logEndOffset.toString(),
            reason: r.reason,
          })),
        },
        meta.generation,
      )
      .catch((error: unknown) => logger.warn({ err: error }, "recording the reset in Redis failed"));
    if (pool !== null) {
      await recordResetDetections(
        pool,
        "budget-tracker",
        groupId,
        topic,
        resets.map((r) => ({ ...r, generation: meta.generation })),
      ).catch((error: unknown) => logger.warn({ err: error }, "recording the reset in Postgres failed"));
      // Should a reset have been resolved while this was written, the next check clears the row again.
      this.reportedGeneration = meta.generation;
    }
    if (this.deps.resetPolicy === "earliest") {
      this.resetting ??= this.resetToEarliest(meta).finally(() => {
        this.resetting = null;
      });
      await this.resetting;
    }
  }

  /** A detected reset is over (the positions were moved to the new log): forget it everywhere. */
  async resolved(meta: MetaState): Promise<void> {
    const { store, logger, pool } = this.deps;
    this.guard.clear({ generation: meta.generation, resetId: meta.lastReset?.id ?? null });
    await store.recordResetDetection(null, meta.generation).catch(() => undefined);
    if (pool !== null) {
      const cleared = await clearResetDetections(
        pool,
        "budget-tracker",
        this.deps.groupId,
        this.deps.topic,
      ).then(
        () => true,
        (error: unknown) => {
          logger.warn({ err: error }, "clearing the reset in Postgres failed");
          return false;
        },
      );
      if (cleared) this.reportedGeneration = null;
    } else this.reportedGeneration = null;
  }

  /** Periodic: a reset applied elsewhere (generation changed) resumes; positions beyond the log end stop. */
  async periodicCheck(): Promise<void> {
    const { store } = this.deps;
    if (this.deps.busy()) return;
    const meta = await store.readMeta();
    if (meta === null || meta.epoch !== store.epoch) return; // the state check recovers the state
    if (meta.generation !== store.generation) {
      this.deps.positionsMoved();
      return;
    }
    if (this.guard.blocked && this.reportedGeneration !== null && this.reportedGeneration < meta.generation) {
      // Reported in an older generation than the one in force (a finding that raced a reset): re-check.
      this.deps.positionsMoved();
      return;
    }
    if (!this.guard.blocked && this.reportedGeneration !== null) await this.resolved(meta);
    if (this.deps.positions.assigned.length === 0) return;
    const resets = await this.findResets(meta);
    if (resets.length > 0) await this.detected(resets, meta);
  }

  /** Waits for a reset in progress, then closes the log reader. */
  async close(): Promise<void> {
    await this.resetting?.catch(() => undefined);
    await this.logReader.close();
  }

  private async resetToEarliest(meta: MetaState): Promise<void> {
    const { logReader, guard } = this;
    if (await resetToEarliest({ ...this.deps, logReader, guard }, meta)) this.deps.positionsMoved();
  }
}
