import { setTimeout as sleep } from "node:timers/promises";
import { generateStream } from "@adpipe/core";
import { type IngestorService, loadIngestorConfig, startIngestorService } from "@adpipe/ingestor";
import { createLogger } from "@adpipe/telemetry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestTopic, type TestTopic, testServices, uniqueName } from "../../support/index.js";
import { createTestDatabase, endOffsets, type TestDatabase, waitForIngested } from "./support.js";

const RATE_PER_SECOND = 2_000;
const SECONDS = 10;
const TICK_MS = 50;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

describe("Gold freshness under steady load (measured, printed; no timed assertion)", () => {
  let db: TestDatabase;
  let topic: TestTopic;
  let service: IngestorService | undefined;

  beforeAll(async () => {
    [db, topic] = await Promise.all([
      createTestDatabase("ingestor_freshness"),
      createTestTopic("wh-freshness", 4),
    ]);
  });
  afterAll(async () => {
    await service?.stop();
    await Promise.allSettled([db?.drop(), topic?.delete()]);
  });

  it(`reports p50/p99 of (Gold commit − produce) at ${RATE_PER_SECOND} events/s for ${SECONDS} s`, {
    timeout: 120_000,
  }, async () => {
    const group = uniqueName("wh-freshness-group");
    const latencies: number[] = [];
    let batches = 0;
    service = await startIngestorService(
      loadIngestorConfig({
        KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
        KAFKA_TOPIC: topic.topic,
        DATABASE_URL: db.url,
        INGESTOR_GROUP_ID: group,
        OPS_PORT: "0",
        OPS_HOST: "127.0.0.1",
        RETENTION_INTERVAL_MS: "0",
        LOG_LEVEL: "warn",
      }),
      {
        logger: createLogger({ service: "ingestor-freshness", level: "warn" }),
        onBatchCommitted: ({ recordTimestampsMs, result }) => {
          if (result.written === 0) return;
          batches += 1;
          for (const ts of recordTimestampsMs) latencies.push(result.committedAtMs - ts);
        },
      },
    );
    // Let the consumer join before the clock starts.
    await sleep(3_000);

    const total = RATE_PER_SECOND * SECONDS;
    const perTick = (RATE_PER_SECOND * TICK_MS) / 1_000;
    const stream = generateStream({
      seed: 5,
      events: total,
      advertisers: 50,
      startMs: Date.now(),
      spanMs: SECONDS * 1_000,
    });
    const producer = topic.kafka.producer();
    await producer.connect();
    const started = Date.now();
    let sent = 0;
    try {
      while (sent < total) {
        const messages = [];
        for (let i = 0; i < perTick && sent < total; i++, sent++) {
          const next = stream.next();
          if (next.done === true) break;
          // Record timestamp = the produce time: the latency measured is produce -> Gold commit.
          messages.push({
            key: next.value.key,
            value: Buffer.from(next.value.value),
            timestamp: String(Date.now()),
          });
        }
        await producer.send({ topic: topic.topic, acks: -1, messages });
        const due = started + (sent / perTick) * TICK_MS;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
      }
    } finally {
      await producer.disconnect();
    }
    const producedIn = (Date.now() - started) / 1_000;
    await waitForIngested(db.pool, group, topic.topic, await endOffsets(topic.kafka, topic.topic));

    const sorted = [...latencies].sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p99 = percentile(sorted, 99);
    console.log(
      `[ingestor-freshness] ${latencies.length} records at ${(sent / producedIn).toFixed(0)} events/s over ${producedIn.toFixed(1)} s, ` +
        `${batches} Postgres transactions: produce -> Gold commit p50 ${p50} ms, p99 ${p99} ms, max ${sorted.at(-1)} ms`,
    );
    expect(latencies.length).toBe(total);
    expect(p50).toBeLessThanOrEqual(p99);
  });
});
