import { setTimeout as sleep } from "node:timers/promises";
import type { MetaState, SpendStore } from "@adpipe/spend-store";
import type { Logger } from "@adpipe/telemetry";
import { type BackoffOptions, backoffDelayMs } from "@adpipe/telemetry";
import type { Consumer } from "kafkajs";
import type { BatchBarrier } from "./barrier.js";
import { TrackerError } from "./errors.js";
import type { TrackerMetrics } from "./metrics.js";
import type { PartitionPositions } from "./partition-positions.js";
import type { TopicResetWatch } from "./topic-reset-watch.js";

/** A failed recovery is retried after 1 s, doubling, at most 30 s apart, until it succeeds or the tracker stops. */
export const RECOVERY_RETRY: BackoffOptions = { initialDelayMs: 1_000, maxDelayMs: 30_000, jitter: 0 };
/** How often a tracker waiting for another process's rebuild looks again. */
const REBUILD_POLL_MS = 250;

export interface StateRecoveryDeps {
  readonly topic: string;
  readonly store: SpendStore;
  readonly logger: Logger;
  readonly metrics: TrackerMetrics;
  readonly barrier: BatchBarrier;
  readonly positions: PartitionPositions;
  readonly watch: TopicResetWatch;
  /** The running consumer (undefined before start). */
  readonly consumer: () => Consumer | undefined;
  readonly stopping: () => boolean;
  /** Rebuilds the Redis state; called holding the rebuild lock. */
  readonly rebuild: () => Promise<void>;
}

/**
 * Gets the tracker a usable Redis state again after it was lost (sentinel missing), rebuilt elsewhere (epoch
 * changed) or its positions reset (generation changed): consumption pauses, the state is adopted or rebuilt,
 * and the consumer seeks to the recorded positions.
 */
export class StateRecovery {
  private recovery: Promise<void> | null = null;

  constructor(private readonly deps: StateRecoveryDeps) {}

  /** The recovery in progress; null when none runs. */
  get running(): Promise<void> | null {
    return this.recovery;
  }

  /** Starts (or joins) the recovery: consumption pauses until Redis has a usable state again. */
  trigger(reason: string): Promise<void> {
    if (this.recovery === null) {
      this.recovery = this.recover(reason).finally(() => {
        this.recovery = null;
      });
    }
    return this.recovery;
  }

  /** Periodic: the sentinel, the epoch and the generation are still the ones this tracker writes with. */
  async checkState(): Promise<void> {
    if (this.recovery !== null) return;
    const { store } = this.deps;
    const meta = await store.readMeta();
    if (meta === null) void this.trigger("sentinel_missing");
    else if (meta.epoch !== store.epoch) void this.trigger("epoch_changed");
    else if (meta.generation !== store.generation) void this.trigger("generation_changed");
  }

  /** Recovers now, retrying until it succeeds or the tracker stops (trigger() runs this once at a time). */
  async recover(reason: string): Promise<void> {
    const { store, logger, metrics, watch, positions, topic } = this.deps;
    metrics.stateRecoveries.inc({ reason });
    logger.warn(
      { reason },
      reason === "generation_changed"
        ? "the topic's positions were reset (new generation): re-reading them, consumption paused"
        : "recovering the Redis state: consumption paused",
    );
    this.deps.consumer()?.pause([{ topic }]);
    for (let attempt = 1; !this.deps.stopping(); attempt++) {
      try {
        const meta = await this.deps.barrier.exclusive(() => this.ensureState());
        const generationChanged = meta.generation !== store.generation;
        store.adopt(meta);
        if (generationChanged) metrics.topicResets.inc({ policy: "observed" });
        if ((generationChanged || watch.blocked) && positions.assigned.length > 0) {
          // Only resume on a log the recorded positions fit.
          const resets = await watch.findResets(meta);
          if (resets.length > 0) {
            await watch.detected(resets, meta);
            if (watch.blocked) return;
          }
        }
        if (watch.blocked) await watch.resolved(meta);
        const consumer = this.deps.consumer();
        for (const position of positions.resumeFrom(meta)) consumer?.seek(position);
        consumer?.resume([{ topic }]);
        logger.info(
          { epoch: meta.epoch, generation: meta.generation, offsets: meta.offsets },
          "Redis state usable again: resuming",
        );
        return;
      } catch (error) {
        const delay = backoffDelayMs(attempt, RECOVERY_RETRY);
        logger.error({ err: error, attempt, retryInMs: delay }, "recovering the Redis state failed");
        await sleep(delay);
      }
    }
  }

  /** The meta state, after rebuilding it if nobody else is (waits while another process rebuilds). */
  private async ensureState(): Promise<MetaState> {
    const { store } = this.deps;
    for (;;) {
      if (this.deps.stopping())
        throw new TrackerError("invalid_state", "stopping while the Redis state is missing");
      const meta = await store.readMeta();
      if (meta !== null) return meta;
      const lock = await store.acquireRebuildLock();
      if (lock === null) {
        await sleep(REBUILD_POLL_MS);
        continue;
      }
      try {
        if ((await store.readMeta()) === null) await this.deps.rebuild();
      } finally {
        await lock.release();
      }
    }
  }
}
