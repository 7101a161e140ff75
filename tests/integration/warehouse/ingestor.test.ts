import { generateStream } from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import { type IngestorService, loadIngestorConfig, startIngestorService } from "@adpipe/ingestor";
import { createLogger } from "@adpipe/telemetry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestTopic, type TestTopic, testServices, uniqueName } from "../../support/index.js";
import {
  bronzeByReason,
  createTestDatabase,
  endOffsets,
  expectedBronzeByReason,
  expectedGold,
  outcomeTimelines,
  produceRecords,
  readGold,
  type TestDatabase,
  viewsVersusOracle,
  waitForIngested,
} from "./support.js";

function configFor(db: TestDatabase, topic: string, group: string) {
  return loadIngestorConfig({
    KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
    KAFKA_TOPIC: topic,
    DATABASE_URL: db.url,
    INGESTOR_GROUP_ID: group,
    INGESTOR_MAX_BATCH_RECORDS: "1000",
    OPS_PORT: "0",
    OPS_HOST: "127.0.0.1",
    RETENTION_INTERVAL_MS: "0",
    LOG_LEVEL: "warn",
  });
}

describe("ingestor (in-process) over the real broker and Postgres", () => {
  let db: TestDatabase;
  let topic: TestTopic;
  const services: IngestorService[] = [];

  beforeAll(async () => {
    [db, topic] = await Promise.all([createTestDatabase("ingestor"), createTestTopic("wh-ingestor", 4)]);
  });
  afterAll(async () => {
    await Promise.allSettled(services.map((s) => s.stop()));
    await Promise.allSettled([db?.drop(), topic?.delete()]);
  });

  it("streams a generated stream into exactly the oracle's Gold, Bronze and views; exposes health and metrics", async () => {
    // Some advertisers in hard_cap: their clicks beyond budget are over_cap (counted by the ingestor's metric).
    const records = [...generateStream({ seed: 11, events: 15_000, advertisers: 30, hardCapShare: 0.3 })];
    const oracle = new Oracle({ keepOutcomes: true }).observeAll(records);
    const group = uniqueName("wh-ingestor-group");
    // Half before the ingestor starts, half while it runs.
    await produceRecords(topic.kafka, topic.topic, records.slice(0, 7_500));
    const service = await startIngestorService(configFor(db, topic.topic, group), {
      logger: createLogger({ service: "ingestor-test", level: "warn" }),
    });
    services.push(service);
    await produceRecords(topic.kafka, topic.topic, records.slice(7_500));
    await waitForIngested(db.pool, group, topic.topic, await endOffsets(topic.kafka, topic.topic));

    expect(await readGold(db.pool)).toEqual(expectedGold(oracle));
    expect(await bronzeByReason(db.pool)).toEqual(expectedBronzeByReason(oracle));
    const { actual, expected } = await viewsVersusOracle(db.pool, oracle, outcomeTimelines(oracle));
    for (const viewName of Object.keys(expected))
      expect(actual[viewName], viewName).toEqual(expected[viewName]);

    const base = `http://127.0.0.1:${service.opsPort}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const valid = /ingestor_records_total\{outcome="valid"[^}]*\} (\d+)/.exec(metrics);
    expect(Number(valid?.[1])).toBe(oracle.silver().valid);
    expect(metrics).toMatch(/ingestor_record_errors_total\{code="malformed_json"/);
    const overCap = /ingestor_over_cap_micros_total(?:\{[^}]*\})? (\d+)/.exec(metrics);
    const { rows } = await db.pool.query<{ micros: string }>(
      "SELECT sum(contrib_over_cap_micros)::text AS micros FROM silver.ad_click_events_clean",
    );
    expect(Number(rows[0]?.micros)).toBeGreaterThan(0);
    expect(Number(overCap?.[1])).toBe(Number(rows[0]?.micros));
    expect(metrics).toMatch(/ingestor_consumer_lag\{topic="[^"]+",partition="\d"/);
    expect(metrics).toMatch(/ingestor_gold_freshness_seconds/);
    expect(metrics).toMatch(/ingestor_batch_duration_seconds_bucket/);

    await service.stop();
  });
});
