/**
 * RESET_POLICY=earliest: a deployment that chose it explicitly resets by itself when the topic is
 * recreated: each consumer moves its own positions to the new log's start (audited in ingest.offset_resets),
 * resumes without a restart, and every record of both logs is counted once (oracle-checked); reconcile exits 0.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { loadTrackerConfig, startTrackerService, type TrackerService } from "@adpipe/budget-tracker";
import { type GeneratedRecord, generateStream } from "@adpipe/core";
import { type IngestorService, loadIngestorConfig, startIngestorService } from "@adpipe/ingestor";
import { ensureTopic } from "@adpipe/kafka";
import { SpendStore } from "@adpipe/spend-store";
import { createLogger } from "@adpipe/telemetry";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTopic } from "../../integrity/support/kafka-tools.js";
import { oracleOf } from "../../integrity/support/verify.js";
import {
  createTestDatabase,
  createTestTopic,
  deleteRedisPrefix,
  REPO_ROOT,
  type TestDatabase,
  type TestTopic,
  testRedis,
  testServices,
  uniqueName,
  uniqueRedisPrefix,
} from "../../support/index.js";
import { eventually } from "../realtime/support/harness.js";
import { diffAgainstOracle } from "../realtime/support/oracle-compare.js";
import { endOffsets, expectedGold, produceRecords, readGold } from "../warehouse/support.js";

const PARTITIONS = 2;

let db: TestDatabase;
let topic: TestTopic;
let redis: Redis;
let prefix: string;
let ingestor: IngestorService | undefined;
let tracker: TrackerService | undefined;
let reader: SpendStore;
const ingestorGroup = uniqueName("policy-ingestor");
const trackerGroup = uniqueName("policy-tracker");

function live(seed: number, events: number, runId: string): GeneratedRecord[] {
  return [...generateStream({ seed, events, advertisers: 12, startMs: Date.now(), intervalMs: 2, runId })];
}

function cliEnv(): Record<string, string> {
  const services = testServices();
  return {
    PATH: process.env.PATH ?? "",
    KAFKA_BROKERS: services.kafkaBrokers.join(","),
    KAFKA_TOPIC: topic.topic,
    DATABASE_URL: db.url,
    REDIS_URL: services.redisUrl,
    REDIS_KEY_PREFIX: prefix,
    INGESTOR_GROUP_ID: ingestorGroup,
    TRACKER_GROUP_ID: trackerGroup,
    WAREHOUSE_PIPELINE: ingestorGroup,
  };
}

function adpipe(...args: string[]): { status: number | null; out: string } {
  const result = spawnSync(
    process.execPath,
    ["--conditions", "source", "--import", "tsx", join(REPO_ROOT, "packages/cli/src/main.ts"), ...args],
    { cwd: REPO_ROOT, env: cliEnv(), encoding: "utf8", timeout: 120_000 },
  );
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

/** /readyz of a service (status 0 when the request itself failed: polled again). */
async function readyz(port: number): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { status: 0, body: String(error) };
  }
}

async function metric(
  service: { registry: { metrics(): Promise<string> } },
  pattern: RegExp,
): Promise<number> {
  const match = pattern.exec(await service.registry.metrics());
  return match === null ? 0 : Number(match[1]);
}

async function caughtUp(): Promise<boolean> {
  const ends = await endOffsets(topic.kafka, topic.topic);
  const { rows } = await db.pool.query<{ partition: number; next_offset: string }>(
    'SELECT "partition", next_offset::text FROM ingest.consumer_offsets WHERE pipeline = $1 AND topic = $2',
    [ingestorGroup, topic.topic],
  );
  const warehouse = new Map(rows.map((r) => [r.partition, r.next_offset]));
  const meta = await reader.readMeta();
  const redisAt = new Map((meta?.offsets ?? []).map((o) => [o.partition, String(o.offset)]));
  return [...ends].every(
    ([partition, end]) => end === "0" || (warehouse.get(partition) === end && redisAt.get(partition) === end),
  );
}

beforeAll(async () => {
  [db, topic] = await Promise.all([
    createTestDatabase("resetpolicy"),
    createTestTopic("reset-policy", PARTITIONS),
  ]);
  redis = testRedis();
  prefix = uniqueRedisPrefix("reset-policy");
  reader = new SpendStore({ redis, topic: topic.topic, prefix });
  const services = testServices();
  const common = {
    KAFKA_BROKERS: services.kafkaBrokers.join(","),
    KAFKA_TOPIC: topic.topic,
    OPS_PORT: "0",
    OPS_HOST: "127.0.0.1",
    TOPIC_CHECK_INTERVAL_MS: "1000",
    RESET_POLICY: "earliest",
    LOG_LEVEL: "error",
  };
  ingestor = await startIngestorService(
    loadIngestorConfig({
      ...common,
      DATABASE_URL: db.url,
      INGESTOR_GROUP_ID: ingestorGroup,
      INGESTOR_SESSION_TIMEOUT_MS: "6000",
      RETENTION_INTERVAL_MS: "0",
    }),
    { logger: createLogger({ service: "reset-ingestor", level: "error" }) },
  );
  tracker = await startTrackerService(
    loadTrackerConfig({
      ...common,
      REDIS_URL: services.redisUrl,
      REDIS_KEY_PREFIX: prefix,
      TRACKER_GROUP_ID: trackerGroup,
      DATABASE_URL: db.url,
      WAREHOUSE_PIPELINE: ingestorGroup,
      TRACKER_SESSION_TIMEOUT_MS: "6000",
      TRACKER_MAX_WAIT_MS: "100",
      STATE_CHECK_INTERVAL_MS: "1000",
      RECONCILE_INTERVAL_MS: "0",
    }),
    { logger: createLogger({ service: "reset-tracker", level: "error" }) },
  );
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([ingestor?.stop(), tracker?.stop()]);
  await Promise.allSettled([db?.drop(), topic?.delete()]);
  if (redis !== undefined) {
    await deleteRedisPrefix(redis, prefix).catch(() => 0);
    await redis.quit();
  }
});

describe("RESET_POLICY=earliest", () => {
  it("both consumers reset themselves to the new log and count every record once", async () => {
    await produceRecords(topic.kafka, topic.topic, live(161, 2_000, "policy-a"));
    await eventually("both paths consumed the first log", caughtUp, 90_000);
    const before = await readTopic(topic.kafka, topic.topic);

    await topic.delete();
    await eventually(
      "the topic recreated",
      async () =>
        (await ensureTopic(topic.kafka, { topic: topic.topic, partitions: PARTITIONS }).catch(() => null)) !==
        null,
      60_000,
    );
    await produceRecords(topic.kafka, topic.topic, live(162, 300, "policy-b"));
    await eventually(
      "both reset themselves",
      async () =>
        (await metric(ingestor!, /ingestor_topic_resets_total\{policy="earliest"[^}]*\} (\d+)/)) === 1 &&
        (await metric(tracker!, /budget_tracker_topic_resets_total\{policy="earliest"[^}]*\} (\d+)/)) === 1,
      60_000,
    );
    await eventually("both paths consumed the new log", caughtUp, 90_000);
    await eventually(
      "both ready",
      async () =>
        (await readyz(ingestor!.opsPort)).status === 200 && (await readyz(tracker!.opsPort)).status === 200,
      30_000,
    );
    const after = await readTopic(topic.kafka, topic.topic);
    const oracle = oracleOf([...before, ...after]);
    expect(await readGold(db.pool)).toEqual(expectedGold(oracle));
    expect(diffAgainstOracle(await reader.readStates(), oracle.servingStateAt(Date.now()))).toEqual([]);
    const { rows } = await db.pool.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM bronze.ad_click_events_raw WHERE topic_generation = 1",
    );
    expect(rows[0]?.n).toBe(String(after.length));

    const { rows: audit } = await db.pool.query<{
      source: string;
      status: string;
      target: string;
      actor: string;
    }>("SELECT source, status, target, actor FROM ingest.offset_resets ORDER BY id");
    expect(audit.map((a) => [a.source, a.status, a.target])).toEqual([
      ["reset_policy", "completed", "earliest"],
      ["reset_policy", "completed", "earliest"],
    ]);
    expect(audit.map((a) => a.actor.split(" ")[0]).sort()).toEqual(["budget-tracker", "ingestor"]);
    const reconcile = adpipe("reconcile");
    expect(reconcile.status, reconcile.out).toBe(0);
  }, 240_000);
});
