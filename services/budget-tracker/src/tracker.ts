import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type DetectedReset,
  detectResets,
  EventEffect,
  eventEffect,
  ParseContext,
  type ParseOptions,
  parseEvent,
  type ResetPolicy,
} from "@adpipe/core";
import {
  ConsumerRunner,
  TopicLogReader,
  type TopicPartition,
  type TopicPartitionOffset,
  TopicResetGuard,
} from "@adpipe/kafka";
import type { BatchOutcome, MetaState, SpendStore } from "@adpipe/spend-store";
import {
  type RebuildSource,
  type ReconcileReport,
  rebuildState,
  reconcileWithWarehouse,
} from "@adpipe/store-sync";
import type { Logger } from "@adpipe/telemetry";
import {
  clearResetDetections,
  isWarehouseError,
  markOffsetReset,
  recordResetDetections,
  startOffsetReset,
} from "@adpipe/warehouse";
import type { EachBatchPayload, Kafka } from "kafkajs";
import type { Pool } from "pg";
import { TrackerError } from "./errors.js";
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
  /** Check the sentinel and the epoch; 0 = never. */
  readonly stateCheckMs: number;
  /** Compare Redis with Postgres; 0 = never (also when no pool is given). */
  readonly reconcileMs: number;
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
  readonly sessionTimeoutMs?: number;
  /** Partitions whose batches are applied at the same time. Default 4. */
  readonly partitionsConcurrently?: number;
  /** What to do when the topic was reset under the tracker (deleted and recreated). Default fail. */
  readonly resetPolicy?: ResetPolicy;
  /** How often positions are compared with the log and a reset applied elsewhere is looked for; 0 = never. */
  readonly topicCheckMs?: number;
  readonly onBatchApplied?: (batch: AppliedBatch) => void;
}

/**
 * Kafka -> Redis, exactly once. Per batch: parse every record with @adpipe/core against its own Kafka
 * timestamp, group by advertiser, apply in one pipelined Redis round trip, then resolve the offsets for
 * Kafka's commit. Positions live in Redis (the meta hash): on every group join the consumer seeks there.
 */
export class BudgetTracker {
  private readonly options: BudgetTrackerOptions;
  private readonly store: SpendStore;
  private readonly logger: Logger;
  private readonly metrics: TrackerMetrics;
  private runner: ConsumerRunner | undefined;
  private assigned: TopicPartition[] = [];
  /**
   * Batches of different partitions apply concurrently (each slice is atomic, offsets are per partition);
   * sweeps and rebuilds run alone: they wait for the batches in flight and hold back new ones.
   */
  private barrier: Promise<unknown> = Promise.resolve();
  private readonly inFlight = new Set<Promise<unknown>>();
  private recovery: Promise<void> | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private sweptPeriod: string | null = null;
  private stopping = false;
  private healthy = false;
  /** Next offset per assigned partition the consumer stands at (seeks and applied batches). */
  private readonly positionsNow = new Map<number, bigint>();
  private readonly guard: TopicResetGuard;
  private readonly logReader: TopicLogReader;
  private resetting: Promise<void> | null = null;
  /** The generation a detected reset was reported in (null: none reported); Postgres rows to clear afterwards. */
  private reportedGeneration: number | null = null;

  constructor(options: BudgetTrackerOptions) {
    this.options = options;
    this.store = options.store;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.logReader = new TopicLogReader(options.kafka, options.topic);
    this.guard = new TopicResetGuard({
      topic: options.topic,
      consumer: options.groupId,
      policy: options.resetPolicy ?? "fail",
      logger: options.logger,
      onChange: (resets) => {
        this.metrics.topicResetDetected.reset();
        for (const reset of resets)
          this.metrics.topicResetDetected.set({ partition: String(reset.partition) }, 1);
      },
    });
  }

  /** Throws the reason while a topic reset keeps the tracker from consuming (a readiness check). */
  checkTopic(): void {
    this.guard.check();
  }

  /** Ready: the state is usable and the consumer runs (false while rebuilding). */
  get ready(): boolean {
    return this.healthy && this.recovery === null && this.runner?.state === "running";
  }

  /** Resolves after stop(); rejects when the consumer gave up. */
  done(): Promise<void> {
    return this.runner?.done() ?? Promise.resolve();
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.barrier.then(async () => {
      await Promise.allSettled([...this.inFlight]);
      return work();
    });
    this.barrier = run.catch(() => undefined);
    return run;
  }

  private async shared<T>(work: () => Promise<T>): Promise<T> {
    let barrier: Promise<unknown>;
    do {
      barrier = this.barrier;
      await barrier;
    } while (barrier !== this.barrier);
    const run = work();
    this.inFlight.add(run);
    try {
      return await run;
    } finally {
      this.inFlight.delete(run);
    }
  }

  async start(): Promise<void> {
    await this.store.loadScripts();
    await this.establishState();
    await this.rolloverIfDue(true);
    this.runner = new ConsumerRunner({
      kafka: this.options.kafka,
      groupId: this.options.groupId,
      topics: [this.options.topic],
      logger: this.logger,
      fromBeginning: true,
      consumerConfig: {
        maxWaitTimeInMs: this.options.maxWaitTimeInMs ?? 500,
        ...(this.options.sessionTimeoutMs === undefined
          ? {}
          : {
              sessionTimeout: this.options.sessionTimeoutMs,
              heartbeatInterval: Math.max(500, Math.floor(this.options.sessionTimeoutMs / 10)),
            }),
      },
      // Positions live in Redis; Kafka's committed offsets only serve lag monitoring and loss detection, so
      // they are committed once a second instead of after every batch (one Kafka round trip less per batch).
      runConfig: {
        autoCommitInterval: 1_000,
        partitionsConsumedConcurrently: this.options.partitionsConcurrently ?? 4,
      },
      eachBatch: (payload) => this.eachBatch(payload),
      onAssigned: (assignments) => this.onAssigned(assignments),
    });
    await this.runner.start();
    this.healthy = true;
    const every = (ms: number, task: () => Promise<void>) => {
      if (ms <= 0) return;
      const timer = setInterval(() => {
        if (this.stopping) return;
        task().catch((error: unknown) => this.logger.error({ err: error }, "periodic task failed"));
      }, ms);
      timer.unref();
      this.timers.push(timer);
    };
    const { intervals } = this.options;
    every(intervals.rolloverCheckMs, () => this.rolloverIfDue(false));
    every(intervals.stateCheckMs, () => this.checkState());
    every(this.options.topicCheckMs ?? 10_000, () => this.checkTopicLog());
    if (this.options.pool !== null)
      every(intervals.reconcileMs, () => this.reconcile().then(() => undefined));
  }

  /** Finishes the batch in flight, leaves the group, waits for Redis writes to settle. Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
    await this.runner?.stop();
    await this.exclusive(async () => undefined);
    await this.recovery?.catch(() => undefined);
    await this.resetting?.catch(() => undefined);
    await this.logReader.close();
  }

  /** At start: adopt the state in Redis, create it (first run), or rebuild it (Redis lost it). */
  private async establishState(): Promise<void> {
    const meta = await this.store.readMeta();
    if (meta !== null) {
      this.store.adopt(meta);
      return;
    }
    const committed = await this.kafkaHasCommittedOffsets();
    const leftovers = await this.store.hasAdvertiserState();
    if (!committed && !leftovers) {
      const created = await this.store.createSentinel();
      this.logger.info({ epoch: created.epoch }, "first start: created the Redis state");
      return;
    }
    this.logger.warn(
      { kafkaOffsetsCommitted: committed, advertiserKeysLeft: leftovers },
      "Redis has no tracker state although this group consumed before: rebuilding",
    );
    await this.recover("missing_at_start");
  }

  /**
   * Right after a broker starts (or while the group coordinator moves) the offset fetch answers
   * NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS, which kafkajs' admin does not retry here, and the tracker
   * would fail to start (exit 1). Retriable errors are retried for about half a minute.
   */
  private async kafkaHasCommittedOffsets(): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.fetchKafkaHasCommittedOffsets();
      } catch (error) {
        const retriable = error instanceof Error && "retriable" in error && error.retriable === true;
        if (!retriable || attempt >= 10 || this.stopping) throw error;
        const delay = Math.min(5_000, 250 * 2 ** attempt);
        // An expected state right after a broker starts: one line, no stack trace.
        this.logger.info(
          { reason: error.message, attempt, retryInMs: delay },
          "Kafka group coordinator not ready yet: retrying",
        );
        await sleep(delay);
      }
    }
  }

  private async fetchKafkaHasCommittedOffsets(): Promise<boolean> {
    const admin = this.options.kafka.admin();
    await admin.connect();
    try {
      const topics = await admin.fetchOffsets({
        groupId: this.options.groupId,
        topics: [this.options.topic],
      });
      return topics.some((entry) => entry.partitions.some((p) => Number(p.offset) >= 0));
    } finally {
      await admin.disconnect();
    }
  }

  /** Where each assigned partition resumes: the offsets recorded in Redis (0 when none: nothing applied yet). */
  private async onAssigned(assignments: TopicPartition[]): Promise<TopicPartitionOffset[]> {
    this.assigned = assignments;
    await this.recovery;
    let meta = await this.store.readMeta();
    if (meta === null || meta.epoch !== this.store.epoch || meta.generation !== this.store.generation) {
      await this.triggerRecovery(
        meta === null
          ? "sentinel_missing"
          : meta.epoch !== this.store.epoch
            ? "epoch_changed"
            : "generation_changed",
      );
      meta = await this.store.readMeta();
    }
    // Every assignment: do the recorded positions fit the log? A recreated topic must not be read as replays.
    if (meta !== null && assignments.length > 0) {
      // When the log cannot be read right now (broker restarting), the first fetch checks it (eachBatch).
      const resets = await this.findResets(meta).catch((error: unknown) => {
        this.logger.warn(
          { err: error },
          "cannot read the log bounds at assignment; the first fetch checks them",
        );
        return [];
      });
      if (resets.length > 0) {
        await this.resetDetected(resets, meta);
        if (this.guard.blocked) return [];
        meta = await this.store.readMeta();
      } else if (this.guard.blocked) {
        // Blocked and the positions fit again only after a reset moved them (a generation change).
        return [];
      }
    }
    return this.positions(meta, assignments);
  }

  private positions(meta: MetaState | null, assignments: readonly TopicPartition[]): TopicPartitionOffset[] {
    const recorded = new Map((meta?.offsets ?? []).map(({ partition, offset }) => [partition, offset]));
    return assignments
      .filter(({ topic }) => topic === this.options.topic)
      .map(({ topic, partition }) => {
        const offset = recorded.get(partition) ?? 0;
        this.positionsNow.set(partition, BigInt(offset));
        return { topic, partition, offset: String(offset) };
      });
  }

  /** The assigned partitions whose recorded position lies beyond the log end (one ListOffsets request). */
  private async findResets(meta: MetaState): Promise<DetectedReset[]> {
    const log = await this.logReader.read();
    const assigned = new Set(this.assigned.map((a) => a.partition));
    const stored = new Map(
      meta.offsets.filter((o) => assigned.has(o.partition)).map((o) => [o.partition, BigInt(o.offset)]),
    );
    return detectResets(this.options.topic, stored, log.partitions, { topicId: log.topicId });
  }

  /**
   * A reset was found (at assignment, by a fetch or by the periodic check): stop consuming the topic, say so
   * everywhere (log, metric, /readyz, the meta hash for `adpipe status`, Postgres for the dashboard), and with
   * RESET_POLICY=earliest reset the tracker's positions to the new log's start.
   */
  private async resetDetected(resets: readonly DetectedReset[], meta: MetaState): Promise<void> {
    // The log was read after `meta`: a reset applied meanwhile makes this finding stale (the positions moved).
    const latest = await this.store.readMeta();
    if (latest === null || latest.generation !== meta.generation || this.store.generation !== meta.generation)
      return;
    this.runner?.consumer?.pause([{ topic: this.options.topic }]);
    this.guard.report(resets, { generation: meta.generation });
    this.reportedGeneration = meta.generation;
    await this.store
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
      .catch((error: unknown) => this.logger.warn({ err: error }, "recording the reset in Redis failed"));
    const pool = this.options.pool;
    if (pool !== null) {
      await recordResetDetections(
        pool,
        "budget-tracker",
        this.options.groupId,
        this.options.topic,
        resets.map((r) => ({ ...r, generation: meta.generation })),
      ).catch((error: unknown) => this.logger.warn({ err: error }, "recording the reset in Postgres failed"));
      // Should a reset have been resolved while this was written, the next check clears the row again.
      this.reportedGeneration = meta.generation;
    }
    if ((this.options.resetPolicy ?? "fail") === "earliest") {
      this.resetting ??= this.resetToEarliest(meta).finally(() => {
        this.resetting = null;
      });
      await this.resetting;
    }
  }

  /**
   * RESET_POLICY=earliest: moves the tracker's positions to the start of the new log, in the next generation,
   * audited in Postgres when DATABASE_URL is set (always recorded in the meta hash: reset_id, reset_at).
   */
  private async resetToEarliest(meta: MetaState): Promise<void> {
    const topic = this.options.topic;
    const pool = this.options.pool;
    const log = await this.logReader.read();
    const positions = log.partitions.map((p) => ({ partition: p.partition, offset: Number(p.start) }));
    const reason = `RESET_POLICY=earliest: ${this.guard.reason() ?? "topic reset detected"}`;
    let resetId = "";
    try {
      if (pool !== null) {
        resetId = await startOffsetReset(pool, {
          topic,
          target: "earliest",
          actor: `budget-tracker ${this.options.groupId} @${hostname()} pid ${process.pid}`,
          reason,
          source: "reset_policy",
          plan: {
            tracker: {
              prefix: this.store.keys.prefix,
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
        this.logger.warn(
          { topic },
          "RESET_POLICY=earliest without DATABASE_URL: the reset is not audited in Postgres",
        );
      }
      const outcome = await this.store.resetPositions({
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
      this.metrics.topicResets.inc({ policy: "earliest" });
      this.logger.warn(
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
      void this.triggerRecovery("generation_changed");
    } catch (error) {
      if (pool !== null && resetId !== "")
        await markOffsetReset(pool, resetId, "abandoned").catch(() => undefined);
      const refused = isWarehouseError(error) && error.code === "reset_refused";
      this.logger[refused ? "warn" : "error"](
        { err: error, topic },
        "RESET_POLICY=earliest: resetting the tracker's positions failed; retried at the next check",
      );
    }
  }

  /** Periodic: a reset applied elsewhere (generation changed) resumes; positions beyond the log end stop. */
  private async checkTopicLog(): Promise<void> {
    if (this.recovery !== null || this.stopping) return;
    const meta = await this.store.readMeta();
    if (meta === null || meta.epoch !== this.store.epoch) return; // checkState recovers the state
    if (meta.generation !== this.store.generation) {
      void this.triggerRecovery("generation_changed");
      return;
    }
    if (this.guard.blocked && this.reportedGeneration !== null && this.reportedGeneration < meta.generation) {
      // Reported in an older generation than the one in force (a finding that raced a reset): re-check.
      void this.triggerRecovery("generation_changed");
      return;
    }
    if (!this.guard.blocked && this.reportedGeneration !== null) await this.resolved(meta);
    if (this.assigned.length === 0) return;
    const resets = await this.findResets(meta);
    if (resets.length > 0) await this.resetDetected(resets, meta);
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const receivedAtMs = Date.now();
    const { batch } = payload;
    const messages = batch.messages;
    const last = messages.at(-1);
    if (last === undefined || this.recovery !== null || this.stopping || this.guard.blocked) return;
    // The fetch says the log ends before the position we stand at: the topic was replaced under us. Its
    // records are new ones, not replays: refuse the batch (nothing resolved) and report.
    const standing = this.positionsNow.get(batch.partition);
    if (standing !== undefined && standing > BigInt(batch.highWatermark)) {
      const meta = await this.store.readMeta();
      if (meta !== null) {
        const resets = await this.findResets(meta).catch(() => [
          {
            topic: this.options.topic,
            partition: batch.partition,
            storedOffset: standing,
            logStartOffset: 0n,
            logEndOffset: BigInt(batch.highWatermark),
            reason: "offset_beyond_log_end" as const,
          },
        ]);
        if (resets.length > 0) void this.resetDetected(resets, meta);
      }
      return;
    }

    const slices = this.store.newBatch();
    const partition = batch.partition;
    const timestamps: number[] = [];
    let spend = 0;
    let budget = 0;
    let noEffect = 0;
    let rejected = 0;
    // One options object per batch, its reference time set per record: an object spread per record was a
    // visible share of the tracker's CPU (bench profile).
    const parseOptions = { ...this.options.parseOptions, referenceTimeMs: 0 };
    const parseContext = new ParseContext();
    const effect = new EventEffect();
    for (const message of messages) {
      const timestampMs = Number(message.timestamp);
      timestamps.push(timestampMs);
      parseOptions.referenceTimeMs = timestampMs;
      const parsed = parseEvent(message.value, parseOptions, parseContext);
      if (!parsed.ok) {
        rejected++;
        continue;
      }
      eventEffect(parsed, effect);
      if (!slices.add(effect, partition, Number(message.offset), timestampMs)) noEffect++;
      else if (effect.spends) spend++;
      else budget++;
    }
    const lastOffset = Number(last.offset);
    const progress = [{ partition: batch.partition, offset: lastOffset + 1 }];

    const startedAt = performance.now();
    const outcome = await this.shared(() =>
      this.recovery !== null ? Promise.resolve(null) : this.store.applySlices(slices, progress),
    );
    if (outcome === null) return;
    const appliedAtMs = Date.now();
    this.metrics.batchApplySeconds.observe((performance.now() - startedAt) / 1000);

    if (outcome.status !== "applied") {
      // Not resolved: the records are read again from the offsets the recovery seeks to.
      void this.triggerRecovery(
        outcome.status === "state_lost"
          ? "sentinel_missing"
          : outcome.status === "generation_changed"
            ? "generation_changed"
            : "epoch_changed",
      );
      return;
    }
    payload.resolveOffset(last.offset);
    this.positionsNow.set(batch.partition, BigInt(lastOffset) + 1n);
    if (spend > 0) this.metrics.records.inc({ outcome: "spend" }, spend);
    if (budget > 0) this.metrics.records.inc({ outcome: "budget" }, budget);
    if (noEffect > 0) this.metrics.records.inc({ outcome: "no_effect" }, noEffect);
    if (rejected > 0) this.metrics.records.inc({ outcome: "rejected" }, rejected);
    this.metrics.eventsApplied.inc(outcome.applied);
    this.metrics.duplicatesSkipped.inc(outcome.duplicates);
    this.metrics.replayedSkipped.inc(outcome.replayed);
    this.metrics.closedPeriodSkipped.inc(outcome.closedPeriod);
    for (const flip of outcome.flips) this.metrics.flips.inc({ to: flip.canServe ? "1" : "0" });
    for (const timestampMs of timestamps)
      this.metrics.freshnessSeconds.observe(Math.max(0, appliedAtMs - timestampMs) / 1000);
    this.metrics.lag.set(
      { partition: String(batch.partition) },
      Math.max(0, Number(batch.highWatermark) - lastOffset - 1),
    );
    this.options.onBatchApplied?.({
      partition: batch.partition,
      firstOffset: Number(messages[0]?.offset ?? last.offset),
      lastOffset,
      recordTimestampsMs: timestamps,
      receivedAtMs,
      appliedAtMs,
      outcome,
    });
  }

  /** Starts (or joins) the recovery: consumption pauses until Redis has a usable state again. */
  private triggerRecovery(reason: string): Promise<void> {
    if (this.recovery === null) {
      this.recovery = this.recover(reason).finally(() => {
        this.recovery = null;
      });
    }
    return this.recovery;
  }

  private async recover(reason: string): Promise<void> {
    this.metrics.stateRecoveries.inc({ reason });
    this.logger.warn(
      { reason },
      reason === "generation_changed"
        ? "the topic's positions were reset (new generation): re-reading them, consumption paused"
        : "recovering the Redis state: consumption paused",
    );
    const topic = this.options.topic;
    this.runner?.consumer?.pause([{ topic }]);
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        const meta = await this.exclusive(() => this.ensureState());
        const generationChanged = meta.generation !== this.store.generation;
        this.store.adopt(meta);
        if (generationChanged) this.metrics.topicResets.inc({ policy: "observed" });
        if ((generationChanged || this.guard.blocked) && this.assigned.length > 0) {
          // Only resume on a log the recorded positions fit.
          const resets = await this.findResets(meta);
          if (resets.length > 0) {
            await this.resetDetected(resets, meta);
            if (this.guard.blocked) return;
          }
        }
        if (this.guard.blocked) await this.resolved(meta);
        const consumer = this.runner?.consumer;
        for (const position of this.positions(meta, this.assigned)) consumer?.seek(position);
        consumer?.resume([{ topic }]);
        this.logger.info(
          { epoch: meta.epoch, generation: meta.generation, offsets: meta.offsets },
          "Redis state usable again: resuming",
        );
        return;
      } catch (error) {
        const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
        this.logger.error({ err: error, attempt, retryInMs: delay }, "recovering the Redis state failed");
        await sleep(delay);
      }
    }
  }

  /** A detected reset is over (the positions were moved to the new log): forget it everywhere. */
  private async resolved(meta: MetaState): Promise<void> {
    this.guard.clear({ generation: meta.generation, resetId: meta.lastReset?.id ?? null });
    await this.store.recordResetDetection(null, meta.generation).catch(() => undefined);
    const pool = this.options.pool;
    if (pool !== null) {
      const cleared = await clearResetDetections(
        pool,
        "budget-tracker",
        this.options.groupId,
        this.options.topic,
      ).then(
        () => true,
        (error: unknown) => {
          this.logger.warn({ err: error }, "clearing the reset in Postgres failed");
          return false;
        },
      );
      if (cleared) this.reportedGeneration = null;
    } else this.reportedGeneration = null;
  }

  /** The meta state, after rebuilding it if nobody else is (waits while another process rebuilds). */
  private async ensureState(): Promise<MetaState> {
    for (;;) {
      if (this.stopping) throw new TrackerError("invalid_state", "stopping while the Redis state is missing");
      const meta = await this.store.readMeta();
      if (meta !== null) return meta;
      const lock = await this.store.acquireRebuildLock();
      if (lock === null) {
        await sleep(250);
        continue;
      }
      try {
        if ((await this.store.readMeta()) === null) await this.rebuild();
      } finally {
        await lock.release();
      }
    }
  }

  private async rebuild(): Promise<void> {
    const { pool, rebuildSource } = this.options;
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
        ...(this.options.warehousePipeline === undefined ? {} : { pipeline: this.options.warehousePipeline }),
      };
    }
    let logged = 0;
    const outcome = await rebuildState(this.store, source, (done, total) => {
      if (done === total || done - logged >= Math.max(1, Math.floor(total / 10))) {
        logged = done;
        this.logger.info({ done, total }, "rebuilding advertisers");
      }
    });
    this.metrics.rebuilds.inc({ source: source.kind });
    this.sweptPeriod = outcome.period;
    this.logger.warn(
      {
        source: outcome.source,
        period: outcome.period,
        advertisers: outcome.advertisers,
        clickIds: outcome.clickIds,
        epoch: outcome.epoch,
      },
      "rebuilt the Redis state",
    );
  }

  /** Sweeps every hash into the current period when the period changed since the last sweep. */
  private async rolloverIfDue(force: boolean): Promise<void> {
    const period = this.store.currentPeriod();
    if (!force && period.id === this.sweptPeriod) return;
    if (this.recovery !== null) return;
    const outcome = await this.shared(() => this.store.sweep());
    this.metrics.sweeps.inc();
    for (const flip of outcome.flips) this.metrics.flips.inc({ to: flip.canServe ? "1" : "0" });
    if (outcome.epochChanged) {
      void this.triggerRecovery("epoch_changed");
      return;
    }
    this.sweptPeriod = outcome.period.id;
    this.logger.info(
      { period: outcome.period.id, advertisers: outcome.scanned, flips: outcome.flips.length },
      "period rollover sweep",
    );
  }

  private async checkState(): Promise<void> {
    if (this.recovery !== null) return;
    const meta = await this.store.readMeta();
    if (meta === null) void this.triggerRecovery("sentinel_missing");
    else if (meta.epoch !== this.store.epoch) void this.triggerRecovery("epoch_changed");
    else if (meta.generation !== this.store.generation) void this.triggerRecovery("generation_changed");
  }

  /** Compares Redis with Postgres for the current period; a failure (Postgres down) never stops applying. */
  async reconcile(): Promise<ReconcileReport | null> {
    const pool = this.options.pool;
    if (pool === null) return null;
    try {
      const report = await reconcileWithWarehouse(
        this.store,
        pool,
        this.options.warehousePipeline === undefined ? {} : { pipeline: this.options.warehousePipeline },
      );
      this.metrics.recordReconcile(report);
      const log = report.mismatched.length === 0 || report.offsetsApart > 0 ? "debug" : "warn";
      this.logger[log](
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
      this.metrics.reconcileRuns.inc({ result: "error" });
      this.logger.warn({ err: error }, "reconciliation failed (Postgres unreachable?); applying continues");
      return null;
    }
  }
}
