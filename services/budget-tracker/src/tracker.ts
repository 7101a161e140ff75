import { ConsumerRunner, type TopicPartition, type TopicPartitionOffset } from "@adpipe/kafka";
import type { ShapeRefreshOutcome, SpendStore } from "@adpipe/spend-store";
import type { ReconcileReport } from "@adpipe/store-sync";
import type { Logger } from "@adpipe/telemetry";
import { shapeHistory } from "@adpipe/warehouse";
import { BatchBarrier } from "./barrier.js";
import { BatchApplier } from "./batch-applier.js";
import { groupHasCommittedOffsets } from "./group-offsets.js";
import { PartitionPositions } from "./partition-positions.js";
import { rebuildRedisState } from "./rebuild.js";
import { reconcileOnce } from "./reconcile.js";
import { StateRecovery } from "./recovery.js";
import { ReservationExpiry } from "./reservation-expiry.js";
import { PeriodRollover } from "./rollover.js";
import { TopicResetWatch } from "./topic-reset-watch.js";
import type { BudgetTrackerOptions } from "./tracker-options.js";

export type { AppliedBatch, BudgetTrackerOptions, TrackerIntervals } from "./tracker-options.js";

/**
 * Kafka -> Redis, exactly once. Per batch: parse every record with @adpipe/core against its own Kafka
 * timestamp, group by advertiser, apply in one pipelined Redis round trip, then resolve the offsets for
 * Kafka's commit. Positions live in Redis (the meta hash): on every group join the consumer seeks there.
 * Each job has its own module (batch-applier, recovery, rebuild, rollover, reconcile, topic-reset-watch);
 * this class wires them to the consumer and runs the periodic checks.
 */
export class BudgetTracker {
  private readonly options: BudgetTrackerOptions;
  private readonly store: SpendStore;
  private readonly logger: Logger;
  private runner: ConsumerRunner | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopping = false;
  private healthy = false;
  private readonly barrier = new BatchBarrier();
  private readonly positions: PartitionPositions;
  private readonly watch: TopicResetWatch;
  private readonly recovery: StateRecovery;
  private readonly rollover: PeriodRollover;
  private readonly applier: BatchApplier;
  private readonly expiry: ReservationExpiry;

  constructor(options: BudgetTrackerOptions) {
    this.options = options;
    const { store, logger, metrics, pool, topic } = options;
    this.store = store;
    this.logger = logger;
    const stopping = () => this.stopping;
    this.positions = new PartitionPositions(topic);
    this.watch = new TopicResetWatch({
      kafka: options.kafka,
      topic,
      groupId: options.groupId,
      resetPolicy: options.resetPolicy ?? "fail",
      store,
      pool,
      logger,
      metrics,
      positions: this.positions,
      pauseTopic: () => this.runner?.consumer?.pause([{ topic }]),
      positionsMoved: () => void this.recovery.trigger("generation_changed"),
      busy: () => this.recovery.running !== null || this.stopping,
    });
    this.recovery = new StateRecovery({
      topic,
      store,
      logger,
      metrics,
      barrier: this.barrier,
      positions: this.positions,
      watch: this.watch,
      consumer: () => this.runner?.consumer,
      stopping,
      rebuild: async () => this.rollover.rebuiltIn(await rebuildRedisState(options)),
    });
    this.rollover = new PeriodRollover({
      store,
      barrier: this.barrier,
      logger,
      metrics,
      recovering: () => this.recovery.running !== null,
      epochChanged: () => void this.recovery.trigger("epoch_changed"),
    });
    this.expiry = new ReservationExpiry({
      kafka: options.kafka,
      topic,
      store,
      logger,
      metrics,
      busy: () => this.recovery.running !== null || this.watch.blocked,
    });
    this.applier = new BatchApplier({
      ...options,
      barrier: this.barrier,
      positions: this.positions,
      recovery: this.recovery,
      watch: this.watch,
      stopping,
    });
  }

  /** Throws the reason while a topic reset keeps the tracker from consuming (a readiness check). */
  checkTopic(): void {
    this.watch.check();
  }

  /** Ready: the state is usable and the consumer runs (false while rebuilding). */
  get ready(): boolean {
    return this.healthy && this.recovery.running === null && this.runner?.state === "running";
  }

  /** Resolves after stop(); rejects when the consumer gave up. */
  done(): Promise<void> {
    return this.runner?.done() ?? Promise.resolve();
  }

  async start(): Promise<void> {
    await this.store.loadScripts();
    await this.establishState();
    await this.rollover.sweepIfDue(true);
    const { options } = this;
    this.runner = new ConsumerRunner({
      kafka: options.kafka,
      groupId: options.groupId,
      topics: [options.topic],
      logger: this.logger,
      fromBeginning: true,
      consumerConfig: {
        maxWaitTimeInMs: options.maxWaitTimeInMs ?? 500,
        ...(options.maxBytesPerPartition === undefined
          ? {}
          : { maxBytesPerPartition: options.maxBytesPerPartition }),
        ...(options.sessionTimeoutMs === undefined
          ? {}
          : {
              sessionTimeout: options.sessionTimeoutMs,
              heartbeatInterval: Math.max(500, Math.floor(options.sessionTimeoutMs / 10)),
            }),
      },
      // Positions live in Redis; Kafka's committed offsets only serve lag monitoring and loss detection
      // (ConsumerRunner commits them once a second: COMMIT_INTERVAL_MS).
      runConfig: { partitionsConsumedConcurrently: options.partitionsConcurrently ?? 4 },
      eachBatch: (payload) => this.applier.apply(payload),
      onAssigned: (assignments) => this.onAssigned(assignments),
    });
    await this.runner.start();
    this.healthy = true;
    const { intervals } = options;
    this.every(intervals.rolloverCheckMs, () => this.rollover.sweepIfDue(false));
    this.every(intervals.pacingCheckMs ?? 0, () => this.rollover.sweepIfDue(true, "pacing"));
    this.every(intervals.stateCheckMs, () => this.recovery.checkState());
    this.every(options.topicCheckMs ?? 10_000, () => this.watch.periodicCheck());
    this.every(intervals.reservationSweepMs ?? 0, () => this.expiry.turn());
    this.every(intervals.forecastRefreshMs ?? 0, () => this.refreshForecasts());
    if (options.pool !== null) {
      this.every(intervals.reconcileMs, () => this.reconcile().then(() => undefined));
      this.every(intervals.shapeRefreshMs ?? 0, () => this.refreshShapes().then(() => undefined));
    }
  }

  /** Finishes the batch in flight, leaves the group, waits for Redis writes to settle. Idempotent. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
    await this.runner?.stop();
    await this.barrier.exclusive(async () => undefined);
    await this.recovery.running?.catch(() => undefined);
    await this.watch.close();
    await this.expiry.close();
  }

  /**
   * Recomputes every hash's forecast fields at the store's clock, so they keep moving when clicks stop (skipped
   * while a rebuild runs: the next turn covers the rebuilt hashes).
   */
  async refreshForecasts(): Promise<void> {
    if (this.recovery.running !== null) return;
    await this.barrier.shared(() => this.store.refreshForecasts());
  }

  /**
   * Learns every `shaped` advertiser's traffic shape from Gold's last 7 days into `_shape` (one Postgres query,
   * one pipelined Redis write); the next pacing sweep or batch paces by it. Skipped while a rebuild runs and
   * without a pool (null).
   */
  async refreshShapes(): Promise<ShapeRefreshOutcome | null> {
    const pool = this.options.pool;
    if (pool === null || this.recovery.running !== null) return null;
    return this.barrier.shared(() =>
      this.store.refreshShapes((ids, endMs) => shapeHistory(pool, ids, endMs)),
    );
  }

  /** Compares Redis with Postgres for the current period; a failure (Postgres down) never stops applying. */
  reconcile(): Promise<ReconcileReport | null> {
    return reconcileOnce(this.options);
  }

  /**
   * Runs `task` every `ms` (0 = never) until stop; a failure is logged and the next turn runs as usual. A turn
   * due while the previous one still runs is skipped: under load a sweep can outlast its interval, and
   * overlapping turns would only double the work that competes with the batches.
   */
  private every(ms: number, task: () => Promise<void>): void {
    if (ms <= 0) return;
    let running = false;
    const timer = setInterval(() => {
      if (this.stopping || running) return;
      running = true;
      task()
        .catch((error: unknown) => this.logger.error({ err: error }, "periodic task failed"))
        .finally(() => {
          running = false;
        });
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  /** At start: adopt the state in Redis, create it (first run), or rebuild it (Redis lost it). */
  private async establishState(): Promise<void> {
    const meta = await this.store.readMeta();
    if (meta !== null) {
      this.store.adopt(meta);
      return;
    }
    const committed = await groupHasCommittedOffsets({ ...this.options, stopping: () => this.stopping });
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
    await this.recovery.recover("missing_at_start");
  }

  /** Where each assigned partition resumes: the offsets recorded in Redis (0 when none: nothing applied yet). */
  private async onAssigned(assignments: TopicPartition[]): Promise<TopicPartitionOffset[]> {
    this.positions.assign(assignments);
    // Another tracker may have applied calendar updates of advertisers this one now owns.
    this.store.forgetCalendars();
    await this.recovery.running;
    let meta = await this.store.readMeta();
    if (meta === null || meta.epoch !== this.store.epoch || meta.generation !== this.store.generation) {
      await this.recovery.trigger(
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
      const resets = await this.watch.findResets(meta).catch((error: unknown) => {
        this.logger.warn(
          { err: error },
          "cannot read the log bounds at assignment; the first fetch checks them",
        );
        return [];
      });
      if (resets.length > 0) {
        await this.watch.detected(resets, meta);
        if (this.watch.blocked) return [];
        meta = await this.store.readMeta();
      } else if (this.watch.blocked) {
        // Blocked and the positions fit again only after a reset moved them (a generation change).
        return [];
      }
    }
    return this.positions.resumeFrom(meta, assignments);
  }
}
