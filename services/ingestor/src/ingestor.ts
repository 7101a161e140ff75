import { setTimeout as sleep } from "node:timers/promises";
import { backoffDelayMs, ConsumerRunner, type LoggerLike, type TopicPartition } from "@adpipe/kafka";
import {
  type KafkaRecord,
  PartitionCache,
  storedOffsets,
  type WriteBatchOptions,
  type WriteBatchResult,
  writeBatch,
} from "@adpipe/warehouse";
import type { EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import type { Pool } from "pg";
import type { IngestorMetrics } from "./metrics.js";

export interface CommittedBatch {
  readonly topic: string;
  readonly partition: number;
  /** Record timestamps (produce time) of the records handed to the writer, in offset order. */
  readonly recordTimestampsMs: readonly number[];
  readonly result: WriteBatchResult;
}

export interface IngestorOptions {
  kafka: Kafka;
  topic: string;
  /** Consumer group id, also the pipeline name of the stored offsets. */
  groupId: string;
  pool: Pool;
  logger: LoggerLike;
  metrics?: IngestorMetrics;
  write?: Omit<WriteBatchOptions, "partitions">;
  /** Records per Postgres transaction. Default 5000. */
  maxBatchRecords?: number;
  partitionsConsumedConcurrently?: number;
  maxWaitTimeInMs?: number;
  /** Consumer group session timeout (a crashed member keeps its partitions this long). Default 30 s. */
  sessionTimeoutMs?: number;
  maxBytesPerPartition?: number;
  retry?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Called after each Postgres commit (tests measure freshness with it). */
  onBatchCommitted?: (batch: CommittedBatch) => void;
}

function toRecord(topic: string, partition: number, message: KafkaMessage): KafkaRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    timestampMs: Number(message.timestamp),
    key: message.key ?? null,
    value: message.value ?? null,
  };
}

/**
 * Kafka → Bronze/Silver/Gold, exactly once: a consumer group member that writes each batch in one Postgres
 * transaction together with the offsets, and on every assignment resumes from the offsets stored in Postgres.
 * Kafka's committed offsets follow the Postgres commits and serve lag monitoring only.
 * A failing write (Postgres down, deadlock, serialization) is retried with backoff forever; bad input never fails
 * a write (it lands in Bronze with its reason), so the consumer never stops on it.
 */
export class Ingestor {
  private readonly options: IngestorOptions;
  private readonly runner: ConsumerRunner;
  private readonly partitions = new PartitionCache();
  private stopping = false;

  constructor(options: IngestorOptions) {
    this.options = options;
    this.runner = new ConsumerRunner({
      kafka: options.kafka,
      groupId: options.groupId,
      topics: [options.topic],
      logger: options.logger,
      fromBeginning: true,
      consumerConfig: {
        maxWaitTimeInMs: options.maxWaitTimeInMs ?? 100,
        maxBytesPerPartition: options.maxBytesPerPartition ?? 4 * 1_048_576,
        ...(options.sessionTimeoutMs === undefined
          ? {}
          : {
              sessionTimeout: options.sessionTimeoutMs,
              heartbeatInterval: Math.max(500, Math.floor(options.sessionTimeoutMs / 10)),
            }),
      },
      runConfig: {
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 2,
        eachBatchAutoResolve: false,
      },
      onAssigned: (assignments) => this.resumeOffsets(assignments),
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  get state(): ConsumerRunner["state"] {
    return this.runner.state;
  }

  async start(): Promise<void> {
    await this.runner.start();
  }

  /** Finishes the batch in flight (its retries stop), leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.runner.stop();
  }

  done(): Promise<void> {
    return this.runner.done();
  }

  /**
   * Seeks every assigned partition to the offset stored in Postgres, or to 0 when none is stored (a fresh
   * database replays the topic from its earliest record even if Kafka has committed offsets for the group;
   * an offset below the log start resets to the earliest record).
   */
  private async resumeOffsets(
    assignments: TopicPartition[],
  ): Promise<{ topic: string; partition: number; offset: string }[]> {
    if (assignments.length === 0) return [];
    const client = await this.options.pool.connect();
    try {
      const stored = new Map<string, string>();
      for (const topic of new Set(assignments.map((a) => a.topic))) {
        for (const row of await storedOffsets(client, { topic, pipeline: this.options.groupId })) {
          stored.set(`${topic}\u0000${row.partition}`, row.offset);
        }
      }
      return assignments.map(({ topic, partition }) => ({
        topic,
        partition,
        offset: stored.get(`${topic}\u0000${partition}`) ?? "0",
      }));
    } finally {
      client.release();
    }
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const max = this.options.maxBatchRecords ?? 5_000;
    for (let start = 0; start < batch.messages.length; start += max) {
      if (!isRunning() || isStale()) return;
      const messages = batch.messages.slice(start, start + max);
      const records = messages.map((message) => toRecord(batch.topic, batch.partition, message));
      const written = await this.writeWithRetry(records, { heartbeat, isRunning, isStale });
      if (written === null) return;
      const last = messages.at(-1);
      if (last !== undefined) resolveOffset(last.offset);
      // Kafka's committed offset trails Postgres: it only feeds lag monitoring, resuming uses Postgres.
      await commitOffsetsIfNecessary();
      if (last !== undefined) {
        const lag = Number(BigInt(batch.highWatermark) - BigInt(last.offset) - 1n);
        this.options.metrics?.lag.set(
          { topic: batch.topic, partition: String(batch.partition) },
          Math.max(0, lag),
        );
      }
      await heartbeat();
    }
  }

  private async writeWithRetry(
    records: KafkaRecord[],
    control: { heartbeat: () => Promise<void>; isRunning: () => boolean; isStale: () => boolean },
  ): Promise<WriteBatchResult | null> {
    const { logger, metrics } = this.options;
    for (let attempt = 1; ; attempt++) {
      const started = performance.now();
      try {
        const client = await this.options.pool.connect();
        let result: WriteBatchResult;
        try {
          result = await writeBatch(
            client,
            { pipeline: this.options.groupId, records },
            { ...this.options.write, partitions: this.partitions },
          );
        } finally {
          client.release();
        }
        const seconds = (performance.now() - started) / 1_000;
        const timestamps = records.map((r) => r.timestampMs);
        metrics?.recordBatch(result, seconds, timestamps);
        for (const gap of result.gaps)
          logger.warn(gap, "records missing between the stored offset and the batch");
        logger.debug(
          {
            topic: records[0]?.topic,
            partition: records[0]?.partition,
            written: result.written,
            replayed: result.replayed,
            ms: Math.round(seconds * 1_000),
          },
          "batch committed",
        );
        this.options.onBatchCommitted?.({
          topic: records[0]?.topic ?? "",
          partition: records[0]?.partition ?? -1,
          recordTimestampsMs: timestamps,
          result,
        });
        return result;
      } catch (error) {
        metrics?.batchFailures.inc();
        if (this.stopping || !control.isRunning() || control.isStale()) {
          logger.warn(
            { err: error },
            "batch write failed while stopping or after a rebalance; leaving it to the next owner",
          );
          return null;
        }
        const delay = backoffDelayMs(attempt, {
          initialDelayMs: this.options.retry?.initialDelayMs ?? 500,
          maxDelayMs: this.options.retry?.maxDelayMs ?? 30_000,
        });
        logger.error(
          { err: error, attempt, retryInMs: delay, records: records.length },
          "batch write failed; retrying",
        );
        // Keep the group membership alive while waiting (a long Postgres outage must not trigger rebalances).
        for (let waited = 0; waited < delay; waited += 1_000) {
          await sleep(Math.min(1_000, delay - waited));
          await control.heartbeat().catch(() => undefined);
          if (this.stopping || !control.isRunning()) return null;
        }
      }
    }
  }
}
