import { setTimeout as sleep } from "node:timers/promises";
import { type BackoffOptions, backoffDelayMs, type Logger, silentLogger } from "@adpipe/telemetry";
import type { Consumer, ConsumerConfig, ConsumerRunConfig, EachBatchPayload, Kafka } from "kafkajs";
import { AdpipeKafka, EVENT_HUBS_SETTINGS } from "./client.js";
import { isAuthenticationError, KafkaError } from "./errors.js";

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  /** The offset of the next record to read, as kafkajs takes it (a decimal string). */
  offset: string;
}

export type ConsumerRunnerState =
  | "idle"
  | "starting"
  | "running"
  | "restarting"
  | "stopping"
  | "stopped"
  | "failed";

/**
 * How often resolved offsets are committed to Kafka by default. Every service keeps its positions with its data
 * (Postgres, Redis); Kafka's committed offsets serve lag monitoring and the "did this group consume" checks.
 */
export const COMMIT_INTERVAL_MS = 1_000;

export interface ConsumerRunnerOptions {
  kafka: Kafka;
  groupId: string;
  topics: string[];
  /**
   * Handles one batch of one partition. Offsets are NOT resolved automatically (eachBatchAutoResolve is off):
   * call `resolveOffset(offset)` for what has been durably processed, so a batch cut short by stop() or a
   * rebalance (check `isRunning()` and `isStale()`) never marks unprocessed records as consumed.
   * Kafka's committed offsets then follow the resolved ones, at most once per `autoCommitInterval` (default
   * COMMIT_INTERVAL_MS; kafkajs as patched, see docs/infra.md), on idle fetches once it passed, and at stop().
   */
  eachBatch: (payload: EachBatchPayload) => Promise<void>;
  /**
   * Called after every group join with this member's assignment (possibly empty). Return the offsets to resume
   * from (e.g. the ones stored with the data in Postgres or Redis); the runner seeks to them before any batch of
   * those partitions reaches eachBatch. Partitions not returned resume from Kafka's committed offset.
   * If it throws, it is retried with backoff (errors logged and passed to onCrash) while batches wait.
   */
  onAssigned?: (assignments: TopicPartition[]) => Promise<TopicPartitionOffset[]>;
  /** Called for every crash, before the restart decision (metrics, alerts). */
  onCrash?: (error: Error, willRestart: boolean) => void;
  logger?: Logger;
  /** Extra kafkajs consumer settings (the flavor's defaults apply underneath when kafka is an AdpipeKafka). */
  consumerConfig?: Omit<ConsumerConfig, "groupId">;
  /** kafkajs run() settings other than the handlers. */
  runConfig?: Pick<
    ConsumerRunConfig,
    | "autoCommit"
    | "autoCommitInterval"
    | "autoCommitThreshold"
    | "partitionsConsumedConcurrently"
    | "eachBatchAutoResolve"
  >;
  /** Where a group without committed offsets starts. Default true (the earliest record). */
  fromBeginning?: boolean;
  /** Backoff between restarts after a crash kafkajs does not recover from itself. */
  restartBackoff?: BackoffOptions;
  /** Give up after this many consecutive failed restarts (the runner then fails loudly). Default: never. */
  maxRestarts?: number;
}

const DISCONNECT_TIMEOUT_MS = 30_000;

function toAssignments(memberAssignment: Record<string, number[]>): TopicPartition[] {
  return Object.entries(memberAssignment).flatMap(([topic, partitions]) =>
    partitions.map((partition) => ({ topic, partition })),
  );
}

/** Checks onAssigned's answer: only assigned partitions, offsets as non-negative integers. */
export function validateSeekOffsets(
  assignments: readonly TopicPartition[],
  offsets: readonly TopicPartitionOffset[],
): TopicPartitionOffset[] {
  const assigned = new Set(assignments.map(({ topic, partition }) => `${topic}\u0000${partition}`));
  for (const { topic, partition, offset } of offsets) {
    if (!assigned.has(`${topic}\u0000${partition}`)) {
      throw new KafkaError(
        "assignment_failed",
        `onAssigned returned ${topic}/${partition}, which is not assigned`,
      );
    }
    if (!/^\d+$/.test(offset)) {
      throw new KafkaError(
        "assignment_failed",
        `onAssigned returned offset "${offset}" for ${topic}/${partition}`,
      );
    }
  }
  return [...offsets];
}

/**
 * Runs a kafkajs consumer group member that does not die: when kafkajs gives up on a crash (its CRASH event with
 * `restart: false`, which Event Hubs' UNKNOWN_SERVER_ERROR triggers), a fresh consumer is started after a
 * backoff. stop() is graceful: the batch in flight finishes, then the member leaves the group.
 */
export class ConsumerRunner {
  private readonly options: ConsumerRunnerOptions;
  private readonly logger: Logger;
  private consumerInstance: Consumer | undefined;
  private currentState: ConsumerRunnerState = "idle";
  private consecutiveFailures = 0;
  private restartCount = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private restarting: Promise<void> | undefined;
  private pendingDisconnect: Promise<void> | undefined;
  /** Settles when the assignment of the latest generation has been applied (seeks issued). */
  private assignmentReady: Promise<void> = Promise.resolve();
  /** Counts group joins, so work for an older assignment can tell it is outdated. */
  private generation = 0;
  private readonly finished: Promise<void>;
  private settleFinished: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(options: ConsumerRunnerOptions) {
    if (options.topics.length === 0)
      throw new KafkaError("invalid_state", "ConsumerRunner needs at least one topic");
    this.options = options;
    this.logger = options.logger ?? silentLogger;
    this.finished = new Promise<void>((resolve, reject) => {
      this.settleFinished = { resolve, reject };
    });
    // Callers that never await done() must not get an unhandled rejection; those that do still see it.
    this.finished.catch(() => undefined);
  }

  get state(): ConsumerRunnerState {
    return this.currentState;
  }

  /** Restarts after crashes since start(). */
  get restarts(): number {
    return this.restartCount;
  }

  /** The kafkajs consumer currently running (a new one after each restart). */
  get consumer(): Consumer | undefined {
    return this.consumerInstance;
  }

  /** Resolves after stop(); rejects with KafkaError "consumer_gave_up" if the runner gives up restarting. */
  done(): Promise<void> {
    return this.finished;
  }

  /**
   * Connects, subscribes and starts consuming. Rejects (KafkaError "authentication_failed" or
   * "consumer_start_failed") when the first start fails; later failures are handled by restarts.
   */
  async start(): Promise<void> {
    if (this.currentState !== "idle") {
      throw new KafkaError("invalid_state", `start() called in state ${this.currentState}`);
    }
    this.currentState = "starting";
    try {
      await this.launch();
    } catch (error) {
      this.currentState = "failed";
      const kafkaError = this.startError(error);
      this.settleFinished?.reject(kafkaError);
      throw kafkaError;
    }
    if (this.isStopping()) return;
    this.currentState = "running";
  }

  /** Finishes the batch in flight, commits what eachBatch resolved, leaves the group. Idempotent. */
  async stop(): Promise<void> {
    if (this.currentState === "stopped" || this.currentState === "failed") return;
    this.currentState = "stopping";
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    await this.pendingDisconnect;
    await this.restarting?.catch(() => undefined);
    const consumer = this.consumerInstance;
    this.consumerInstance = undefined;
    try {
      await consumer?.disconnect();
    } finally {
      this.currentState = "stopped";
      this.settleFinished?.resolve();
      this.logger.info({ groupId: this.options.groupId }, "consumer stopped");
    }
  }

  private isStopping(): boolean {
    return this.currentState === "stopping" || this.currentState === "stopped";
  }

  private startError(error: unknown): KafkaError {
    if (error instanceof KafkaError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return isAuthenticationError(error)
      ? new KafkaError("authentication_failed", `Kafka rejected the credentials: ${message}`, {
          cause: error,
        })
      : new KafkaError(
          "consumer_start_failed",
          `cannot start consumer group ${this.options.groupId}: ${message}`,
          {
            cause: error,
          },
        );
  }

  private runConfig(): NonNullable<ConsumerRunnerOptions["runConfig"]> {
    const eventHubs =
      this.options.kafka instanceof AdpipeKafka && this.options.kafka.connection.flavor === "event-hubs";
    return {
      eachBatchAutoResolve: false,
      // Without an interval kafkajs commits after every partition batch: one OffsetCommit round trip each, awaited
      // before the next batch (and Event Hubs throttles commits to 4/s per partition).
      autoCommitInterval: eventHubs ? EVENT_HUBS_SETTINGS.autoCommitInterval : COMMIT_INTERVAL_MS,
      ...this.options.runConfig,
    };
  }

  private async launch(): Promise<void> {
    const { kafka, groupId, topics } = this.options;
    const consumer = kafka.consumer({ ...this.options.consumerConfig, groupId });
    this.consumerInstance = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      const assignments = toAssignments(event.payload.memberAssignment);
      this.consecutiveFailures = 0;
      this.generation += 1;
      this.logger.info({ groupId, assignments }, "consumer joined group");
      this.assignmentReady = this.applyAssignment(consumer, assignments, this.generation);
    });
    consumer.on(consumer.events.CRASH, (event) => {
      this.handleCrash(consumer, event.payload.error, event.payload.restart);
    });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: this.options.fromBeginning ?? true });
    await consumer.run({
      ...this.runConfig(),
      eachBatch: async (payload) => {
        if (!(await this.waitForAssignment(payload))) return;
        // A seek from onAssigned is pending for this partition: this batch came from the old position.
        if (payload.isStale()) return;
        await this.options.eachBatch(payload);
      },
    });
  }

  /**
   * Holds a batch until the assignment's offsets are applied, heartbeating meanwhile so a slow offset store
   * does not get the member evicted. False when the consumer is stopping.
   */
  private async waitForAssignment(payload: EachBatchPayload): Promise<boolean> {
    let settled = false;
    const ready = this.assignmentReady.finally(() => {
      settled = true;
    });
    while (!settled) {
      await Promise.race([
        ready,
        sleep(
          this.options.consumerConfig?.heartbeatInterval ?? EVENT_HUBS_SETTINGS.heartbeatInterval,
          undefined,
          {
            ref: false,
          },
        ),
      ]);
      if (!payload.isRunning()) return false;
      if (!settled) await payload.heartbeat();
    }
    return payload.isRunning();
  }

  /**
   * Asks onAssigned for the offsets to resume from and seeks to them. Failures (the offset store is down) are
   * logged, reported to onCrash and retried with backoff for as long as this generation lasts; batches wait.
   */
  private async applyAssignment(
    consumer: Consumer,
    assignments: TopicPartition[],
    generation: number,
  ): Promise<void> {
    const onAssigned = this.options.onAssigned;
    if (onAssigned === undefined) return;
    const current = () =>
      generation === this.generation && consumer === this.consumerInstance && !this.isStopping();
    for (let attempt = 1; current(); attempt++) {
      try {
        const offsets = validateSeekOffsets(assignments, await onAssigned(assignments));
        if (!current()) return;
        for (const offset of offsets) consumer.seek(offset);
        if (offsets.length > 0) {
          this.logger.info({ groupId: this.options.groupId, offsets }, "resuming from stored offsets");
        }
        return;
      } catch (caught) {
        const error =
          caught instanceof KafkaError
            ? caught
            : new KafkaError("assignment_failed", "onAssigned failed", { cause: caught });
        const delayMs = backoffDelayMs(attempt, this.options.restartBackoff);
        this.logger.error(
          { groupId: this.options.groupId, err: error, attempt, delayMs },
          "onAssigned failed; retrying",
        );
        this.options.onCrash?.(error, true);
        await sleep(delayMs, undefined, { ref: false });
      }
    }
  }

  private handleCrash(consumer: Consumer, error: unknown, kafkajsRestarts: boolean): void {
    if (consumer !== this.consumerInstance || this.isStopping()) {
      // A consumer we replaced or are stopping crashed while shutting down. kafkajs would bring it back a moment
      // later as a second group member; disconnect() cancels that restart (it is scheduled right after this event).
      if (kafkajsRestarts) setImmediate(() => void consumer.disconnect().catch(() => undefined));
      return;
    }
    const cause = error instanceof Error ? error : new Error(String(error));
    this.options.onCrash?.(cause, true);
    if (kafkajsRestarts) {
      this.logger.warn(
        { groupId: this.options.groupId, err: cause },
        "consumer crashed; kafkajs restarts it",
      );
      return;
    }
    this.logger.error({ groupId: this.options.groupId, err: cause }, "consumer crashed; restarting it");
    this.scheduleRestart(cause);
  }

  private scheduleRestart(cause: Error): void {
    if (this.isStopping() || this.restartTimer !== undefined) return;
    this.consecutiveFailures += 1;
    const previous = this.consumerInstance;
    this.consumerInstance = undefined;
    // Stop the old member at once (it must not keep fetching while we wait), start the new one after the delay.
    // Bounded: a consumer that crashed mid-request may never finish disconnecting, and must not block the restart.
    const disconnected = Promise.race([
      (previous?.disconnect() ?? Promise.resolve()).catch((error: unknown) => {
        this.logger.warn(
          { groupId: this.options.groupId, err: error },
          "disconnecting the crashed consumer failed",
        );
      }),
      sleep(DISCONNECT_TIMEOUT_MS, undefined, { ref: false }),
    ]);
    this.pendingDisconnect = disconnected;
    const max = this.options.maxRestarts ?? Number.POSITIVE_INFINITY;
    if (this.consecutiveFailures > max) {
      this.giveUp(cause);
      return;
    }
    this.currentState = "restarting";
    const delay = backoffDelayMs(this.consecutiveFailures, this.options.restartBackoff);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restarting = disconnected.then(() => this.relaunch(cause));
    }, delay);
    this.logger.warn(
      { groupId: this.options.groupId, delayMs: delay, attempt: this.consecutiveFailures },
      "consumer restart scheduled",
    );
  }

  private async relaunch(cause: Error): Promise<void> {
    if (this.isStopping()) return;
    this.restartCount += 1;
    try {
      await this.launch();
      if (!this.isStopping()) this.currentState = "running";
    } catch (error) {
      if (this.isStopping()) return;
      this.logger.error({ groupId: this.options.groupId, err: error }, "consumer restart failed");
      this.scheduleRestart(error instanceof Error ? error : cause);
    }
  }

  private giveUp(cause: Error): void {
    this.currentState = "failed";
    const error = new KafkaError(
      "consumer_gave_up",
      `consumer group ${this.options.groupId} crashed ${this.consecutiveFailures} times in a row; giving up`,
      { cause },
    );
    this.logger.error({ groupId: this.options.groupId, err: error }, "consumer runner gave up");
    this.settleFinished?.reject(error);
  }
}
