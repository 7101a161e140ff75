import { EventEffect, eventEffect, ParseContext, type ParseOptions, parseEvent } from "@adpipe/core";
import type { BatchOutcome, SliceBatch, SpendStore } from "@adpipe/spend-store";
import type { EachBatchPayload } from "kafkajs";
import type { BatchBarrier } from "./barrier.js";
import type { TrackerMetrics } from "./metrics.js";
import type { PartitionPositions } from "./partition-positions.js";
import type { StateRecovery } from "./recovery.js";
import type { TopicResetWatch } from "./topic-reset-watch.js";
import type { AppliedBatch } from "./tracker-options.js";

export interface BatchApplierDeps {
  readonly topic: string;
  readonly store: SpendStore;
  readonly parseOptions: Omit<ParseOptions, "referenceTimeMs">;
  readonly metrics: TrackerMetrics;
  readonly barrier: BatchBarrier;
  readonly positions: PartitionPositions;
  readonly recovery: StateRecovery;
  readonly watch: TopicResetWatch;
  readonly stopping: () => boolean;
  readonly onBatchApplied?: (batch: AppliedBatch) => void;
}

/** How the records of one batch were taken. */
interface RecordCounts {
  spend: number;
  budget: number;
  noEffect: number;
  rejected: number;
}

/**
 * The consumer's eachBatch: parses every record with @adpipe/core against its own Kafka timestamp, groups them
 * by advertiser, applies them in one pipelined Redis round trip, then resolves the offsets for Kafka's commit.
 * A batch that could not be applied is left unresolved: the recovery seeks back to the recorded positions.
 */
export class BatchApplier {
  constructor(private readonly deps: BatchApplierDeps) {}

  async apply(payload: EachBatchPayload): Promise<void> {
    const receivedAtMs = Date.now();
    const { batch } = payload;
    const messages = batch.messages;
    const last = messages.at(-1);
    const { recovery, watch, store, metrics } = this.deps;
    if (last === undefined || recovery.running !== null || this.deps.stopping() || watch.blocked) return;
    if (await this.logEndsBeforePosition(batch.partition, batch.highWatermark)) return;

    const partition = batch.partition;
    let slices = store.newBatch();
    let { timestamps, watermarkMs, counts } = this.fill(slices, messages, partition);
    // Advertisers whose calendar the tracker did not know: read from their hashes (one round trip); packed
    // again when one has a calendar of its own (their clicks' periods depend on it).
    if (await store.learnCalendars(slices)) {
      slices = store.newBatch();
      ({ timestamps, watermarkMs, counts } = this.fill(slices, messages, partition));
    }
    const lastOffset = Number(last.offset);
    const progress = [{ partition, offset: lastOffset + 1, watermarkMs }];
    const startedAt = performance.now();
    const outcome = await this.deps.barrier.shared(() =>
      recovery.running !== null ? Promise.resolve(null) : store.applySlices(slices, progress),
    );
    if (outcome === null) return;
    const appliedAtMs = Date.now();
    metrics.batchApplySeconds.observe((performance.now() - startedAt) / 1000);

    if (outcome.status !== "applied") {
      // Not resolved: the records are read again from the offsets the recovery seeks to.
      void recovery.trigger(
        outcome.status === "state_lost"
          ? "sentinel_missing"
          : outcome.status === "generation_changed"
            ? "generation_changed"
            : "epoch_changed",
      );
      return;
    }
    payload.resolveOffset(last.offset);
    this.deps.positions.applied(partition, lastOffset);
    this.recordMetrics(outcome, counts, timestamps, appliedAtMs);
    metrics.lag.set(
      { partition: String(partition) },
      Math.max(0, Number(batch.highWatermark) - lastOffset - 1),
    );
    this.deps.onBatchApplied?.({
      partition,
      firstOffset: Number(messages[0]?.offset ?? last.offset),
      lastOffset,
      recordTimestampsMs: timestamps,
      receivedAtMs,
      appliedAtMs,
      outcome,
    });
  }

  /** Parses a batch's records into `slices` (in offset order); what the metrics need of them. */
  private fill(
    slices: SliceBatch,
    messages: EachBatchPayload["batch"]["messages"],
    partition: number,
  ): { timestamps: number[]; watermarkMs: number; counts: RecordCounts } {
    const timestamps: number[] = [];
    let watermarkMs = -1;
    const counts: RecordCounts = { spend: 0, budget: 0, noEffect: 0, rejected: 0 };
    // One options object per batch, its reference time set per record: an object spread per record was a
    // visible share of the tracker's CPU (bench profile).
    const parseOptions = { ...this.deps.parseOptions, referenceTimeMs: 0 };
    const parseContext = new ParseContext();
    const effect = new EventEffect();
    for (const message of messages) {
      const timestampMs = Number(message.timestamp);
      timestamps.push(timestampMs);
      if (timestampMs > watermarkMs) watermarkMs = timestampMs;
      parseOptions.referenceTimeMs = timestampMs;
      const parsed = parseEvent(message.value, parseOptions, parseContext);
      if (!parsed.ok) {
        counts.rejected++;
        continue;
      }
      eventEffect(parsed, effect);
      if (!slices.add(effect, partition, Number(message.offset), timestampMs)) counts.noEffect++;
      else if (effect.spends) counts.spend++;
      else counts.budget++;
    }
    return { timestamps, watermarkMs, counts };
  }

  /**
   * The fetch says the log ends before the position we stand at: the topic was replaced under us. Its records
   * are new ones, not replays: the batch is refused (nothing resolved) and the reset reported.
   */
  private async logEndsBeforePosition(partition: number, highWatermark: string): Promise<boolean> {
    const { store, watch } = this.deps;
    const standing = this.deps.positions.standing(partition);
    if (standing === undefined || standing <= BigInt(highWatermark)) return false;
    const meta = await store.readMeta();
    if (meta !== null) {
      const resets = await watch.findResets(meta).catch(() => [
        {
          topic: this.deps.topic,
          partition,
          storedOffset: standing,
          logStartOffset: 0n,
          logEndOffset: BigInt(highWatermark),
          reason: "offset_beyond_log_end" as const,
        },
      ]);
      if (resets.length > 0) void watch.detected(resets, meta);
    }
    return true;
  }

  private recordMetrics(
    outcome: BatchOutcome,
    counts: RecordCounts,
    timestamps: readonly number[],
    appliedAtMs: number,
  ): void {
    const { metrics } = this.deps;
    if (counts.spend > 0) metrics.records.inc({ outcome: "spend" }, counts.spend);
    if (counts.budget > 0) metrics.records.inc({ outcome: "budget" }, counts.budget);
    if (counts.noEffect > 0) metrics.records.inc({ outcome: "no_effect" }, counts.noEffect);
    if (counts.rejected > 0) metrics.records.inc({ outcome: "rejected" }, counts.rejected);
    metrics.eventsApplied.inc(outcome.applied);
    metrics.duplicatesSkipped.inc(outcome.duplicates);
    metrics.replayedSkipped.inc(outcome.replayed);
    metrics.closedPeriodSkipped.inc(outcome.closedPeriod);
    for (const flip of outcome.flips) metrics.flips.inc({ to: flip.canServe ? "1" : "0" });
    for (const timestampMs of timestamps)
      metrics.freshnessSeconds.observe(Math.max(0, appliedAtMs - timestampMs) / 1000);
  }
}
