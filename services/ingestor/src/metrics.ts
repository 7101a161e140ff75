import type { WriteBatchResult } from "@adpipe/warehouse";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** The ingestor's Prometheus metrics (registered on the service registry). */
export class IngestorMetrics {
  readonly records: Counter<"outcome">;
  readonly recordErrors: Counter<"code">;
  readonly overCapMicros: Counter;
  readonly batchRecords: Histogram;
  readonly batchSeconds: Histogram;
  readonly batchFailures: Counter;
  readonly fetchedAhead: Counter;
  readonly offsetGaps: Counter<"topic" | "partition">;
  readonly lag: Gauge<"topic" | "partition">;
  readonly commitLatency: Histogram;
  readonly topicResetDetected: Gauge<"partition">;
  readonly topicResets: Counter<"policy">;
  private newestValidEventMs: number | null = null;

  constructor(registry: Registry) {
    this.records = new Counter({
      name: "ingestor_records_total",
      help: "Records consumed, by outcome: valid, invalid, duplicate, rejected (Bronze only), replayed (skipped, already written)",
      labelNames: ["outcome"],
      registers: [registry],
    });
    this.recordErrors = new Counter({
      name: "ingestor_record_errors_total",
      help: "Data-quality findings and rejection reasons of written records, by code",
      labelNames: ["code"],
      registers: [registry],
    });
    this.overCapMicros = new Counter({
      name: "ingestor_over_cap_micros_total",
      help: "Valid click spend written beyond hard_cap budgets (over_cap: in gross, never billed), micros",
      registers: [registry],
    });
    this.batchRecords = new Histogram({
      name: "ingestor_batch_records",
      help: "Records per Postgres transaction",
      buckets: [1, 10, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000],
      registers: [registry],
    });
    this.batchSeconds = new Histogram({
      name: "ingestor_batch_duration_seconds",
      help: "Time to write one batch to Postgres (parse, transaction, commit)",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.batchFailures = new Counter({
      name: "ingestor_batch_failures_total",
      help: "Batch writes that failed and were retried",
      registers: [registry],
    });
    this.fetchedAhead = new Counter({
      name: "ingestor_batches_fetched_ahead_total",
      help: "Partition batches left committing while the next fetch ran (INGESTOR_FETCH_AHEAD, partition behind)",
      registers: [registry],
    });
    this.offsetGaps = new Counter({
      name: "ingestor_offset_gaps_total",
      help: "Batches that started beyond the stored offset (records missing from Kafka, e.g. deleted by retention)",
      labelNames: ["topic", "partition"],
      registers: [registry],
    });
    this.lag = new Gauge({
      name: "ingestor_consumer_lag",
      help: "Records behind the partition's high watermark after the last committed batch",
      labelNames: ["topic", "partition"],
      registers: [registry],
    });
    this.commitLatency = new Histogram({
      name: "ingestor_commit_latency_seconds",
      help: "Gold commit time minus the Kafka record timestamp (produce time), per record",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    });
    this.topicResetDetected = new Gauge({
      name: "ingestor_topic_reset_detected",
      help: "1 while the partition's stored offset lies beyond its log end (topic deleted and recreated): not consuming",
      labelNames: ["partition"],
      registers: [registry],
    });
    this.topicResets = new Counter({
      name: "ingestor_topic_resets_total",
      help: "Topic resets of the warehouse positions applied by this process (RESET_POLICY=earliest) or observed (adpipe offsets reset)",
      labelNames: ["policy"],
      registers: [registry],
    });
    const freshness = (): number | null => this.newestValidEventMs;
    new Gauge({
      name: "ingestor_gold_freshness_seconds",
      help: "Now minus the newest valid event time committed to Gold by this replica (events dated after their commit excluded)",
      registers: [registry],
      collect() {
        const newest = freshness();
        if (newest !== null) this.set((Date.now() - newest) / 1_000);
      },
    });
  }

  recordBatch(result: WriteBatchResult, seconds: number, recordTimestampsMs: readonly number[]): void {
    this.batchSeconds.observe(seconds);
    this.batchRecords.observe(result.received);
    this.records.inc({ outcome: "valid" }, result.valid);
    this.records.inc({ outcome: "invalid" }, result.invalid);
    this.records.inc({ outcome: "duplicate" }, result.duplicates);
    this.records.inc({ outcome: "rejected" }, result.rejected);
    if (result.replayed > 0) this.records.inc({ outcome: "replayed" }, result.replayed);
    if (result.overCapMicros > 0) this.overCapMicros.inc(result.overCapMicros);
    for (const [code, count] of Object.entries(result.errorCodes)) this.recordErrors.inc({ code }, count);
    for (const gap of result.gaps)
      this.offsetGaps.inc({ topic: gap.topic, partition: String(gap.partition) });
    if (result.written > 0) {
      for (const ts of recordTimestampsMs)
        this.commitLatency.observe(Math.max(0, result.committedAtMs - ts) / 1_000);
    }
    // A batch whose newest event is dated after its commit (a producer's clock or time zone is wrong) must not
    // make Gold look fresh: it leaves the gauge where it was, which then grows (never hides a stall).
    if (result.newestValidEventTimeMs !== null && result.newestValidEventTimeMs <= result.committedAtMs) {
      this.newestValidEventMs = Math.max(this.newestValidEventMs ?? 0, result.newestValidEventTimeMs);
    }
  }
}
