import { setTimeout as sleep } from "node:timers/promises";
import { loadTrackerConfig, startTrackerService, type TrackerService } from "@adpipe/budget-tracker";
import { type GeneratedRecord, generateStream } from "@adpipe/core";
import { computeOracle, type Oracle } from "@adpipe/core/testing";
import { type IngestorService, loadIngestorConfig, startIngestorService } from "@adpipe/ingestor";
import { SpendStore } from "@adpipe/spend-store";
import { createLogger } from "@adpipe/telemetry";
import { testServices, uniqueName } from "../../support/index.js";
import type { ApiBench } from "./harness.js";

export interface PipelineRun {
  readonly records: readonly GeneratedRecord[];
  readonly oracle: Oracle;
  stop(): Promise<void>;
}

const PRODUCE_CHUNK = 500;
const HOUR_MS = 3_600_000;

/**
 * The whole pipeline around the API's test bench: the generated stream is produced to the bench's topic
 * and consumed by the real ingestor (Postgres Bronze/Silver/Gold) and the real budget-tracker (Redis),
 * both in-process. Resolves once both have consumed every record.
 */
export async function runGeneratedStream(
  bench: ApiBench,
  options: { seed: number; events: number; advertisers: number },
  groups: { ingestor?: string; tracker?: string } = {},
  /** BUDGET_TIME_ZONE of the ingestor, the tracker and the oracle (default UTC). */
  timeZone = "UTC",
): Promise<PipelineRun> {
  const services = testServices();
  const silent = (service: string) => createLogger({ service, level: "warn" });
  // Record times end about now, so the tracker's current budget period holds the latest spend.
  const spanMs = 6 * HOUR_MS;
  const records = [...generateStream({ ...options, startMs: Date.now() - spanMs - 60_000, spanMs })];

  const ingestorGroup = groups.ingestor ?? uniqueName("api-ingestor");
  const ingestor: IngestorService = await startIngestorService(
    loadIngestorConfig({
      KAFKA_BROKERS: services.kafkaBrokers.join(","),
      KAFKA_TOPIC: bench.topic.topic,
      DATABASE_URL: bench.db.adminUrl,
      INGESTOR_GROUP_ID: ingestorGroup,
      BUDGET_TIME_ZONE: timeZone,
      MIGRATE_ON_START: "false",
      OPS_PORT: "0",
      OPS_HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
    }),
    { logger: silent("ingestor") },
  );
  const tracker: TrackerService = await startTrackerService(
    loadTrackerConfig({
      KAFKA_BROKERS: services.kafkaBrokers.join(","),
      KAFKA_TOPIC: bench.topic.topic,
      REDIS_URL: services.redisUrl,
      REDIS_KEY_PREFIX: bench.prefix,
      TRACKER_GROUP_ID: groups.tracker ?? uniqueName("api-tracker"),
      REBUILD_SOURCE: "replay",
      BUDGET_TIME_ZONE: timeZone,
      RECONCILE_INTERVAL_MS: "0",
      OPS_PORT: "0",
      OPS_HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
    }),
    { logger: silent("budget-tracker") },
  );
  const stop = async () => {
    await Promise.allSettled([ingestor.stop(), tracker.stop()]);
  };

  try {
    const producer = bench.topic.kafka.producer();
    await producer.connect();
    try {
      for (let start = 0; start < records.length; start += PRODUCE_CHUNK) {
        await producer.send({
          topic: bench.topic.topic,
          acks: -1,
          messages: records.slice(start, start + PRODUCE_CHUNK).map((record) => ({
            key: record.key,
            value: Buffer.from(record.value),
            timestamp: String(record.timestampMs),
          })),
        });
      }
    } finally {
      await producer.disconnect();
    }

    const store = new SpendStore({ redis: bench.redis, topic: bench.topic.topic, prefix: bench.prefix });
    const deadline = Date.now() + 90_000;
    for (;;) {
      const { rows } = await bench.db.admin.query<{ n: string | null }>(
        "SELECT sum(next_offset)::text AS n FROM ingest.consumer_offsets WHERE pipeline = $1",
        [ingestorGroup],
      );
      const warehouse = Number(rows[0]?.n ?? 0);
      const meta = await store.readMeta();
      const realtime = (meta?.offsets ?? []).reduce((sum, o) => sum + o.offset, 0);
      if (warehouse >= records.length && realtime >= records.length) break;
      if (Date.now() > deadline) {
        throw new Error(
          `pipeline did not catch up: warehouse ${warehouse}, tracker ${realtime} of ${records.length}`,
        );
      }
      await sleep(200);
    }
  } catch (error) {
    await stop();
    throw error;
  }

  const oracle = computeOracle(
    records.map((record) => ({ value: record.value, timestampMs: record.timestampMs, key: record.key })),
    { timeZone },
  );
  return { records, oracle, stop };
}
