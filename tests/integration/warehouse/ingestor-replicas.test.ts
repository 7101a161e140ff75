import { setTimeout as sleep } from "node:timers/promises";
import { generateStream } from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import {
  type CommittedBatch,
  type IngestorService,
  loadIngestorConfig,
  startIngestorService,
} from "@adpipe/ingestor";
import { createLogger } from "@adpipe/telemetry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestTopic, type TestTopic, testServices, uniqueName } from "../../support/index.js";
import {
  createTestDatabase,
  endOffsets,
  expectedGold,
  produceRecords,
  readGold,
  type TestDatabase,
  waitForIngested,
} from "./support.js";

describe("two ingestor replicas in one consumer group", () => {
  let db: TestDatabase;
  let topic: TestTopic;
  const services: IngestorService[] = [];

  beforeAll(async () => {
    [db, topic] = await Promise.all([
      createTestDatabase("ingestor_replicas"),
      createTestTopic("wh-replicas", 4),
    ]);
  });
  afterAll(async () => {
    await Promise.allSettled(services.map((s) => s.stop()));
    await Promise.allSettled([db?.drop(), topic?.delete()]);
  });

  it("split the partitions and still produce exactly the oracle's Gold", { timeout: 180_000 }, async () => {
    const group = uniqueName("wh-replicas-group");
    const config = loadIngestorConfig({
      KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
      KAFKA_TOPIC: topic.topic,
      DATABASE_URL: db.url,
      INGESTOR_GROUP_ID: group,
      INGESTOR_MAX_BATCH_RECORDS: "500",
      OPS_PORT: "0",
      OPS_HOST: "127.0.0.1",
      RETENTION_INTERVAL_MS: "0",
      LOG_LEVEL: "warn",
    });
    const partitionsByReplica = [new Set<number>(), new Set<number>()];
    const start = (replica: 0 | 1) =>
      startIngestorService(config, {
        logger: createLogger({ service: `ingestor-replica-${replica}`, level: "warn" }),
        onBatchCommitted: (batch: CommittedBatch) => {
          if (batch.result.written > 0)
            for (const partition of batch.partitions) partitionsByReplica[replica]!.add(partition);
        },
      });
    services.push(await start(0));
    services.push(await start(1));

    // Wait until the group is stable with both members holding partitions.
    const admin = topic.kafka.admin();
    await admin.connect();
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const { groups } = await admin.describeGroups([group]);
        const described = groups[0];
        if (described?.state === "Stable" && described.members.length === 2) break;
        if (Date.now() > deadline) throw new Error(`group not stable: ${JSON.stringify(described?.state)}`);
        await sleep(250);
      }
    } finally {
      await admin.disconnect();
    }

    const records = [...generateStream({ seed: 2024, events: 12_000, advertisers: 40 })];
    const oracle = new Oracle().observeAll(records);
    await produceRecords(topic.kafka, topic.topic, records);
    await waitForIngested(db.pool, group, topic.topic, await endOffsets(topic.kafka, topic.topic));

    expect(await readGold(db.pool)).toEqual(expectedGold(oracle));
    // Each replica wrote, and (the group being stable throughout) they wrote disjoint partitions.
    expect(partitionsByReplica[0]!.size).toBeGreaterThan(0);
    expect(partitionsByReplica[1]!.size).toBeGreaterThan(0);
    expect([...partitionsByReplica[0]!].filter((p) => partitionsByReplica[1]!.has(p))).toEqual([]);
    expect(partitionsByReplica[0]!.size + partitionsByReplica[1]!.size).toBe(4);
  });
});
