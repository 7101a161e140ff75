import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { type DetectedReset, detectResets, type ResetPolicy } from "@adpipe/core";
import { ConsumerRunner, TopicLogReader, type TopicPartition, TopicResetGuard } from "@adpipe/kafka";
import { backoffDelayMs, type Logger } from "@adpipe/telemetry";
import {
  applyWarehouseReset,
  clearResetDetections,
  isWarehouseError,
  type KafkaRecord,
  markOffsetReset,
  PartitionCache,
  readTopicGeneration,
  readWarehousePositions,
  recordResetDetections,
  startOffsetReset,
  storedOffsets,
  type WarehouseMove,
  type WriteBatchOptions,
  type WriteBatchResult,
  writeBatch,
} from "@adpipe/warehouse";
import type { EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import type { Pool } from "pg";
import type { IngestorMetrics } from "./metrics.js";
import { WriteCoalescer } from "./write-coalescer.js";

/** One committed Postgres transaction: the batches of one or more partitions of a fetch (group commit). */
export interface CommittedBatch {
  readonly topic: string;
  /** The partitions written, ascending. */
  readonly partitions: readonly number[];
  /** Record timestamps (produce time) of the records handed to the writer, each partition's in offset order. */
  readonly recordTimestampsMs: readonly number[];
  readonly result: WriteBatchResult;
}

export interface IngestorOptions {
  kafka: Kafka;
  topic: string;
  /** Consumer group id, also the pipeline name of the stored offsets. */
  groupId: string;
  pool: Pool;
  logger: Logger;
  metrics?: IngestorMetrics;
  write?: Omit<WriteBatchOptions, "partitions">;
  /** Records per Postgres transaction (all partitions of a combined write together). Default 5000. */
  maxBatchRecords?: number;
  /** Partition batches of a fetch handled at once; those waiting for a writer share one transaction. Default 12. */
  partitionsConsumedConcurrently?: number;
  /** Transactions in flight at once (each takes every partition batch queued when it starts). Default 2. */
  writesConcurrently?: number;
  maxWaitTimeInMs?: number;
  /** Consumer group session timeout (a crashed member keeps its partitions this long). Default 30 s. */
  sessionTimeoutMs?: number;
  maxBytesPerPartition?: number;
  retry?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Called after each Postgres commit, once per transaction (tests measure freshness with it). */
  onBatchCommitted?: (batch: CommittedBatch) => void;
  /** What to do when the topic was reset under the ingestor (deleted and recreated). Default fail. */
  resetPolicy?: ResetPolicy;
  /** How often positions are compared with the log and a reset applied elsewhere is looked for; 0 = never. */
  topicCheckMs?: number;
  /**
   * While a partition is behind, fetch its next batch while the last one commits (default true): the batch's
   * offset is resolved in kafkajs when its write starts, so fetching, parsing and the Postgres commit overlap
   * instead of taking turns; the partition's next batch is written only after that commit. Caught up, batches
   * take turns (lowest latency). Kafka's committed offset (lag monitoring only) may then lead Postgres by one
   * batch per partition; resuming always uses Postgres.
   */
  fetchAhead?: boolean;
}

interface WriteControl {
  heartbeat: () => Promise<void>;
  isRunning: () => boolean;
  isStale: () => boolean;
}

type LogEnd = { topic: string; partition: number; endOffset: string };

/** Records of one partition waiting to be written (at most maxBatchRecords of them). */
interface PartitionChunk {
  readonly partition: number;
  readonly records: KafkaRecord[];
  readonly logEnd: LogEnd;
  readonly control: WriteControl;
}

/** A chunk's outcome: written (the transaction's result), not written (stale, stopping, reset), or to be retried alone. */
type ChunkOutcome = WriteBatchResult | null | "alone";

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
 * Kafka's committed offsets (committed once a second, up to one batch per partition ahead with fetchAhead) serve
 * lag monitoring only.
 * A failing write (Postgres down, deadlock, serialization) is retried with backoff forever; bad input never fails
 * a write (it lands in Bronze with its reason), so the consumer never stops on it.
 */
export class Ingestor {
  private readonly options: IngestorOptions;
  private readonly runner: ConsumerRunner;
  private readonly partitions = new PartitionCache();
  private stopping = false;
  /** Generation of the topic's log the ingestor reads (ingest.topic_generations), set on every assignment. */
  private generation = 0;
  private assigned: TopicPartition[] = [];
  private readonly guard: TopicResetGuard;
  private readonly logReader: TopicLogReader;
  private resync: Promise<void> | null = null;
  /** A resynchronisation paused the consumer and did not finish (an error): the next check runs it again. */
  private resyncPending = false;
  /** A reset was reported (the detections row written): cleared again once the positions fit. */
  private reported = false;
  private resetting: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly coalescer: WriteCoalescer<PartitionChunk, ChunkOutcome>;
  /** Per partition, the write left committing when fetchAhead returned its batch early (null: not written). */
  private readonly committing = new Map<number, Promise<WriteBatchResult | null>>();

  constructor(options: IngestorOptions) {
    this.options = options;
    this.coalescer = new WriteCoalescer({
      maxGroupSize: options.maxBatchRecords ?? 5_000,
      maxConcurrentWrites: options.writesConcurrently ?? 2,
      sizeOf: (chunk) => chunk.records.length,
      write: (chunks) => this.writeChunks(chunks),
    });
    this.logReader = new TopicLogReader(options.kafka, options.topic);
    this.guard = new TopicResetGuard({
      topic: options.topic,
      consumer: options.groupId,
      policy: options.resetPolicy ?? "fail",
      logger: options.logger,
      onChange: (resets) => {
        options.metrics?.topicResetDetected.reset();
        for (const reset of resets)
          options.metrics?.topicResetDetected.set({ partition: String(reset.partition) }, 1);
      },
    });
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
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 12,
        eachBatchAutoResolve: false,
      },
      onAssigned: (assignments) => this.resumeOffsets(assignments),
      eachBatch: (payload) => this.handleBatch(payload),
    });
  }

  get state(): ConsumerRunner["state"] {
    return this.runner.state;
  }

  /** Throws the reason while a topic reset keeps the ingestor from consuming (a readiness check). */
  checkTopic(): void {
    this.guard.check();
  }

  async start(): Promise<void> {
    await this.runner.start();
    const every = this.options.topicCheckMs ?? 10_000;
    if (every > 0) {
      this.timer = setInterval(() => {
        if (this.stopping) return;
        this.checkTopicLog().catch((error: unknown) =>
          this.options.logger.warn(
            { err: error },
            "checking the topic's log failed; retried at the next check",
          ),
        );
      }, every);
      this.timer.unref();
    }
  }

  /** Finishes the batch in flight (its retries stop), leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.runner.stop();
    // Writes left committing by fetchAhead finish (or give up, stopping) before the pool closes.
    await Promise.all(this.committing.values());
    await this.resync?.catch(() => undefined);
    await this.resetting?.catch(() => undefined);
    await this.logReader.close();
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
    this.assigned = assignments;
    if (assignments.length === 0) return [];
    const stored = await this.readStored();
    // Every assignment: do the stored positions fit the log? A recreated topic must not be read as replays. When
    // the log cannot be read right now (broker restarting), the first fetch checks it (writeBatch's logEnds).
    const resets = await this.findResets(stored).catch((error: unknown) => {
      this.options.logger.warn(
        { err: error },
        "cannot read the log bounds at assignment; the first fetch checks them",
      );
      return [];
    });
    if (resets.length > 0) {
      await this.resetDetected(resets);
      if (this.guard.blocked) return [];
      return this.seekList(await this.readStored());
    }
    if (this.guard.blocked) return [];
    return this.seekList(stored);
  }

  /** The generation and the stored next offsets of the topic (Postgres), adopting that generation. */
  private async readStored(): Promise<Map<number, bigint>> {
    const client = await this.options.pool.connect();
    try {
      const { generation } = await readTopicGeneration(client, this.options.topic);
      const rows = await storedOffsets(client, { topic: this.options.topic, pipeline: this.options.groupId });
      this.generation = generation;
      return new Map(rows.map((row) => [row.partition, BigInt(row.offset)]));
    } finally {
      client.release();
    }
  }

  /** Where each assigned partition resumes: its stored offset, 0 when none. */
  private seekList(
    stored: ReadonlyMap<number, bigint>,
  ): { topic: string; partition: number; offset: string }[] {
    return this.assigned.map(({ topic, partition }) => ({
      topic,
      partition,
      offset: (stored.get(partition) ?? 0n).toString(),
    }));
  }

  private async findResets(stored: ReadonlyMap<number, bigint>): Promise<DetectedReset[]> {
    const log = await this.logReader.read();
    const assigned = new Set(this.assigned.map((a) => a.partition));
    const mine = new Map([...stored].filter(([partition]) => assigned.has(partition)));
    return detectResets(this.options.topic, mine, log.partitions, { topicId: log.topicId });
  }

  /**
   * A reset was found (at assignment, by a fetch or by the periodic check): stop consuming the topic and say so
   * everywhere (log, metric, /readyz, ingest.topic_reset_detections); with RESET_POLICY=earliest move the
   * warehouse's positions to the new log's start (audited) and resume there.
   */
  private async resetDetected(resets: readonly DetectedReset[]): Promise<void> {
    // The log was read after the stored offsets: a reset applied meanwhile makes this finding stale.
    const { generation } = await readTopicGeneration(this.options.pool, this.options.topic);
    if (generation !== this.generation) return;
    this.runner.consumer?.pause([{ topic: this.options.topic }]);
    this.guard.report(resets, { generation: this.generation });
    this.reported = true;
    await recordResetDetections(
      this.options.pool,
      "ingestor",
      this.options.groupId,
      this.options.topic,
      resets.map((r) => ({ ...r, generation: this.generation })),
    ).catch((error: unknown) =>
      this.options.logger.warn({ err: error }, "recording the reset in Postgres failed"),
    );
    if ((this.options.resetPolicy ?? "fail") === "earliest") {
      this.resetting ??= this.resetToEarliest().finally(() => {
        this.resetting = null;
      });
      await this.resetting;
    }
  }

  /** RESET_POLICY=earliest: the warehouse's part of `adpipe offsets reset --to earliest`, audited, then resume. */
  private async resetToEarliest(): Promise<void> {
    const { pool, topic, groupId, logger } = this.options;
    let resetId = "";
    try {
      const log = await this.logReader.read();
      const positions = await readWarehousePositions(pool, topic);
      const pipelines = new Set([...positions.pipelines.keys(), groupId]);
      const moves: WarehouseMove[] = [];
      for (const pipeline of pipelines)
        for (const bounds of log.partitions)
          moves.push({ pipeline, partition: bounds.partition, to: bounds.start });
      const fromGeneration = positions.generation;
      const toGeneration = fromGeneration + 1;
      resetId = await startOffsetReset(pool, {
        topic,
        target: "earliest",
        actor: `ingestor ${groupId} @${hostname()} pid ${process.pid}`,
        reason: `RESET_POLICY=earliest: ${this.guard.reason() ?? "topic reset detected"}`,
        source: "reset_policy",
        plan: {
          warehouse: {
            fromGeneration,
            toGeneration,
            moves: moves.map((m) => ({
              pipeline: m.pipeline,
              partition: m.partition,
              from: positions.pipelines.get(m.pipeline)?.get(m.partition) ?? null,
              to: m.to,
              change: "new_log",
            })),
          },
        },
      });
      const outcome = await applyWarehouseReset(pool, {
        topic,
        resetId,
        fromGeneration,
        toGeneration,
        moves,
      });
      await markOffsetReset(pool, resetId, "completed");
      this.options.metrics?.topicResets.inc({ policy: "earliest" });
      logger.warn(
        { topic, resetId, outcome, fromGeneration, toGeneration },
        "RESET_POLICY=earliest: warehouse positions moved to the start of the new log",
      );
      void this.resynchronise();
    } catch (error) {
      if (resetId !== "") await markOffsetReset(pool, resetId, "abandoned").catch(() => undefined);
      const refused = isWarehouseError(error) && error.code === "ADP_WAREHOUSE_RESET_REFUSED";
      logger[refused ? "warn" : "error"](
        { err: error, topic },
        "RESET_POLICY=earliest: resetting the warehouse positions failed; retried at the next check",
      );
    }
  }

  /** Periodic: a reset applied elsewhere (generation changed) resumes; positions beyond the log end stop. */
  private async checkTopicLog(): Promise<void> {
    if (this.resync !== null || this.resetting !== null || this.stopping) return;
    const { generation } = await readTopicGeneration(this.options.pool, this.options.topic);
    if (generation !== this.generation || this.resyncPending || this.guard.blocked) {
      if (
        generation !== this.generation ||
        this.resyncPending ||
        (this.options.resetPolicy ?? "fail") === "earliest"
      )
        await this.resynchronise();
      return;
    }
    if (this.reported) {
      // A finding that raced a reset may have written its row after the reset cleared it.
      await clearResetDetections(this.options.pool, "ingestor", this.options.groupId, this.options.topic);
      this.reported = false;
    }
    if (this.assigned.length === 0) return;
    const resets = await this.findResets(await this.readStored());
    if (resets.length > 0) await this.resetDetected(resets);
  }

  /**
   * Re-reads the generation and the stored positions and, when they fit the log, seeks every assigned partition
   * there and resumes (after `adpipe offsets reset`, or a reset by another replica). Batches of the old
   * generation still in flight are refused by writeBatch (generation_changed) and become stale with the seek.
   */
  private resynchronise(): Promise<void> {
    this.resync ??= (async () => {
      const consumer = this.runner.consumer;
      const topic = this.options.topic;
      this.resyncPending = true;
      consumer?.pause([{ topic }]);
      const before = this.generation;
      const stored = await this.readStored();
      const resets = this.assigned.length === 0 ? [] : await this.findResets(stored);
      if (resets.length > 0) {
        await this.resetDetected(resets);
        if (this.guard.blocked) {
          this.resyncPending = false;
          return;
        }
      }
      if (this.guard.blocked) {
        const { resetId } = await readTopicGeneration(this.options.pool, topic);
        this.guard.clear({ generation: this.generation, resetId });
        await clearResetDetections(this.options.pool, "ingestor", this.options.groupId, topic).catch(
          () => undefined,
        );
      }
      if (this.generation !== before) this.options.metrics?.topicResets.inc({ policy: "observed" });
      const latest = this.generation === before ? stored : await this.readStored();
      for (const position of this.seekList(latest)) consumer?.seek(position);
      consumer?.resume([{ topic }]);
      this.resyncPending = false;
      this.options.logger.info(
        { topic, generation: this.generation, previousGeneration: before, offsets: this.seekList(latest) },
        "positions re-read from Postgres: consuming",
      );
    })()
      .catch((error: unknown) => {
        this.options.logger.warn(
          { err: error },
          "re-reading the positions failed; retried at the next check",
        );
      })
      .finally(() => {
        this.resync = null;
      });
    return this.resync;
  }

  /** Whether a chunk may still be written: its partition not revoked or re-sought, no reset in the way. */
  private writable(control: WriteControl): boolean {
    return control.isRunning() && !control.isStale() && !this.guard.blocked && this.resync === null;
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const max = this.options.maxBatchRecords ?? 5_000;
    const logEnd = { topic: batch.topic, partition: batch.partition, endOffset: batch.highWatermark };
    const control = { heartbeat, isRunning, isStale };
    const fetchAhead = this.options.fetchAhead ?? true;
    for (let start = 0; start < batch.messages.length; start += max) {
      if (!this.writable(control)) return;
      const messages = batch.messages.slice(start, start + max);
      const records = messages.map((message) => toRecord(batch.topic, batch.partition, message));
      // The partition's previous batch commits first. Not written (rebalance, stop, reset, generation change):
      // whatever stopped it seeks the partition back to its stored offset, so this batch is not written either.
      if ((await this.previousCommit(batch.partition)) === null) return;
      if (!this.writable(control)) return;
      const write = this.writeChunk({ partition: batch.partition, records, logEnd, control });
      const last = messages.at(-1);
      if (last === undefined) return;
      const lastChunk = start + max >= batch.messages.length;
      // Only while behind (the log held more than this batch when fetched): a fetch sent as the write starts
      // then returns a full batch. Caught up, it would return the few records of that instant and the records
      // arriving during the commit would wait for one commit more.
      const behind = BigInt(batch.highWatermark) - 1n > BigInt(last.offset);
      if (fetchAhead && lastChunk && behind) {
        this.committing.set(
          batch.partition,
          write.then((written) => {
            if (written !== null) this.trackLag(batch, last.offset);
            return written;
          }),
        );
        // kafkajs fetches from the resolved offset: the next batch is fetched and parsed while this one commits.
        resolveOffset(last.offset);
        this.options.metrics?.fetchedAhead.inc();
        return;
      }
      if ((await write) === null) return;
      resolveOffset(last.offset);
      // Kafka's committed offset only feeds lag monitoring; resuming uses Postgres.
      await commitOffsetsIfNecessary();
      this.trackLag(batch, last.offset);
      await heartbeat();
    }
  }

  /** Waits for the write fetchAhead left committing on `partition`: its result, or undefined when none was. */
  private async previousCommit(partition: number): Promise<WriteBatchResult | null | undefined> {
    const pending = this.committing.get(partition);
    if (pending === undefined) return undefined;
    const written = await pending;
    if (this.committing.get(partition) === pending) this.committing.delete(partition);
    return written;
  }

  /**
   * Writes one chunk: in the group commit with the other partitions' chunks, or alone with retries when the
   * combined write failed. Null: not written. Never rejects: an unexpected failure is logged and the stored
   * positions are re-read, which seeks every assigned partition back to what Postgres holds.
   */
  private async writeChunk(chunk: PartitionChunk): Promise<WriteBatchResult | null> {
    try {
      const outcome = await this.coalescer.submit(chunk);
      if (outcome !== "alone") return outcome;
      return this.writable(chunk.control)
        ? await this.writeWithRetry(chunk.records, [chunk.logEnd], chunk.control)
        : null;
    } catch (error) {
      this.options.logger.error(
        { err: error, partition: chunk.partition },
        "batch write failed unexpectedly; re-reading the stored positions",
      );
      void this.resynchronise();
      return null;
    }
  }

  private trackLag(batch: EachBatchPayload["batch"], lastOffset: string): void {
    const lag = Number(BigInt(batch.highWatermark) - BigInt(lastOffset) - 1n);
    this.options.metrics?.lag.set(
      { topic: batch.topic, partition: String(batch.partition) },
      Math.max(0, lag),
    );
  }

  /**
   * Writes the chunks queued together (one per partition) in ONE transaction. Chunks no longer writable are
   * dropped first. A lone chunk takes the retrying path directly; when a combined write fails, for whatever
   * reason, each chunk goes that path on its own (which handles resets, generation changes and retries).
   */
  private async writeChunks(chunks: PartitionChunk[]): Promise<ChunkOutcome[]> {
    const live = chunks.filter((chunk) => this.writable(chunk.control));
    const outcome = (result: ChunkOutcome) => chunks.map((chunk) => (live.includes(chunk) ? result : null));
    if (live.length === 0) return outcome(null);
    if (live.length === 1) {
      const [only] = live as [PartitionChunk];
      return outcome(await this.writeWithRetry(only.records, [only.logEnd], only.control));
    }
    // Partition order: writeBatch then finds the records ordered and skips its sort.
    live.sort((a, b) => a.partition - b.partition);
    const records = live.flatMap((chunk) => chunk.records);
    try {
      return outcome(
        await this.writeOnce(
          records,
          live.map((chunk) => chunk.logEnd),
        ),
      );
    } catch (error) {
      this.options.metrics?.batchFailures.inc();
      this.options.logger.warn(
        { err: error, partitions: live.map((chunk) => chunk.partition), records: records.length },
        "combined write of several partitions failed; writing each partition on its own",
      );
      return outcome("alone");
    }
  }

  /** One writeBatch transaction on a pooled connection; reports it (committed) once it is in. */
  private async writeOnce(records: KafkaRecord[], logEnds: LogEnd[]): Promise<WriteBatchResult> {
    const started = performance.now();
    const client = await this.options.pool.connect();
    let result: WriteBatchResult;
    try {
      result = await writeBatch(
        client,
        { pipeline: this.options.groupId, records, generation: this.generation, logEnds },
        { ...this.options.write, partitions: this.partitions },
      );
    } finally {
      client.release();
    }
    this.committed(records, result, (performance.now() - started) / 1_000);
    return result;
  }

  /** Metrics, gap warnings and onBatchCommitted of one committed transaction. */
  private committed(records: readonly KafkaRecord[], result: WriteBatchResult, seconds: number): void {
    const { logger, metrics } = this.options;
    const timestamps = records.map((r) => r.timestampMs);
    metrics?.recordBatch(result, seconds, timestamps);
    for (const gap of result.gaps)
      logger.warn(gap, "records missing between the stored offset and the batch");
    const partitions = [...new Set(records.map((r) => r.partition))].sort((a, b) => a - b);
    logger.debug(
      {
        topic: records[0]?.topic,
        partitions,
        written: result.written,
        replayed: result.replayed,
        ms: Math.round(seconds * 1_000),
      },
      "batch committed",
    );
    this.options.onBatchCommitted?.({
      topic: records[0]?.topic ?? "",
      partitions,
      recordTimestampsMs: timestamps,
      result,
    });
  }

  private async writeWithRetry(
    records: KafkaRecord[],
    logEnds: LogEnd[],
    control: WriteControl,
  ): Promise<WriteBatchResult | null> {
    const { logger, metrics } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.writeOnce(records, logEnds);
      } catch (error) {
        if (isWarehouseError(error) && error.code === "ADP_WAREHOUSE_TOPIC_RESET") {
          // The fetch showed the log ends before the stored offset: a new log, not replays. Nothing written.
          const found: DetectedReset[] = error.resets.map((r) => ({
            topic: r.topic,
            partition: r.partition,
            storedOffset: BigInt(r.storedOffset),
            logStartOffset: 0n,
            logEndOffset: BigInt(r.logEndOffset),
            reason: "offset_beyond_log_end" as const,
          }));
          const checked = await this.readStored()
            .then((stored) => this.findResets(stored))
            .catch(() => []);
          await this.resetDetected(checked.length > 0 ? checked : found);
          return null;
        }
        if (isWarehouseError(error) && error.code === "ADP_WAREHOUSE_GENERATION_CHANGED") {
          logger.info(
            { topic: records[0]?.topic },
            "a topic reset moved the stored offsets: re-reading them",
          );
          void this.resynchronise();
          return null;
        }
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
