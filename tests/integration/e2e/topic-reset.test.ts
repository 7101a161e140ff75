/**
 * The topic is deleted and recreated under running services. New records must not be
 * taken for replays: both consumers stop (not ready, metric, ERROR), `adpipe status` exits 1 showing RESET, and
 * after `adpipe offsets reset --to earliest --yes` every new record is in Bronze/Silver/Gold and Redis exactly once
 * (checked against the oracle of @adpipe/core over old + new records), and `adpipe reconcile` exits 0.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { loadTrackerConfig, startTrackerService, type TrackerService } from "@adpipe/budget-tracker";
import { type GeneratedRecord, generateStream } from "@adpipe/core";
import { type IngestorService, loadIngestorConfig, startIngestorService } from "@adpipe/ingestor";
import { ensureTopic } from "@adpipe/kafka";
import { SpendStore } from "@adpipe/spend-store";
import { createLogger } from "@adpipe/telemetry";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTopic, type TopicRecord } from "../../integrity/support/kafka-tools.js";
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
const ingestorGroup = uniqueName("reset-ingestor");
const trackerGroup = uniqueName("reset-tracker");

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
    createTestDatabase("topicreset"),
    createTestTopic("topic-reset", PARTITIONS),
  ]);
  redis = testRedis();
  prefix = uniqueRedisPrefix("topic-reset");
  reader = new SpendStore({ redis, topic: topic.topic, prefix });
  const services = testServices();
  const common = {
    KAFKA_BROKERS: services.kafkaBrokers.join(","),
    KAFKA_TOPIC: topic.topic,
    OPS_PORT: "0",
    OPS_HOST: "127.0.0.1",
    TOPIC_CHECK_INTERVAL_MS: "1000",
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

describe("a topic deleted and recreated under running services", () => {
  let before: TopicRecord[] = [];

  it("consumes the first log exactly", async () => {
    await produceRecords(topic.kafka, topic.topic, live(151, 3_000, "reset-a"));
    await eventually("both paths consumed the first log", caughtUp, 90_000);
    before = await readTopic(topic.kafka, topic.topic);
    expect(before.length).toBe(3_000);
  }, 150_000);

  it("after the recreation: not ready, RESET in status and metrics, no record taken for a replay", async () => {
    const replayedBefore = {
      ingestor: await metric(ingestor!, /ingestor_records_total\{outcome="replayed"[^}]*\} (\d+)/),
      tracker: await metric(tracker!, /budget_tracker_replayed_skipped_total\{[^}]*\} (\d+)/),
    };
    await topic.delete();
    // The broker finishes deleting asynchronously: create again until it takes.
    await eventually(
      "the topic recreated",
      async () =>
        (await ensureTopic(topic.kafka, { topic: topic.topic, partitions: PARTITIONS }).catch(() => null)) !==
        null,
      60_000,
    );
    const after = live(152, 400, "reset-b");
    await produceRecords(topic.kafka, topic.topic, after);

    await eventually(
      "both services not ready with the reset as reason",
      async () => {
        const [i, t] = await Promise.all([readyz(ingestor!.opsPort), readyz(tracker!.opsPort)]);
        return (
          i.status === 503 &&
          i.body.includes("RESET (stored") &&
          t.status === 503 &&
          t.body.includes("RESET (stored")
        );
      },
      60_000,
    );
    expect(await metric(ingestor!, /ingestor_topic_reset_detected\{partition="0"[^}]*\} (\d+)/)).toBe(1);
    expect(await metric(tracker!, /budget_tracker_topic_reset_detected\{partition="0"[^}]*\} (\d+)/)).toBe(1);

    const status = adpipe("status");
    expect(status.status, status.out).toBe(1);
    expect(status.out).toMatch(/RESET \(stored \d+ > end \d+\)/);
    expect(status.out).toContain(`adpipe offsets reset --topic ${topic.topic} --to earliest --yes`);

    // Nothing of the new log was written or skipped as a replay while the services refused it.
    const { rows } = await db.pool.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM bronze.ad_click_events_raw WHERE topic_generation > 0",
    );
    expect(rows[0]?.n).toBe("0");
    expect(await metric(ingestor!, /ingestor_records_total\{outcome="replayed"[^}]*\} (\d+)/)).toBe(
      replayedBefore.ingestor,
    );
    expect(await metric(tracker!, /budget_tracker_replayed_skipped_total\{[^}]*\} (\d+)/)).toBe(
      replayedBefore.tracker,
    );

    // Without --yes: the plan, and nothing changes.
    const dry = adpipe("offsets", "reset", "--topic", topic.topic, "--to", "earliest");
    expect(dry.status, dry.out).toBe(0);
    expect(dry.out).toContain("generation 0 -> 1");
    expect(dry.out).toContain("dry run: nothing changed");
    const generation = await db.pool.query("SELECT * FROM ingest.topic_generations");
    expect(generation.rows.filter((r: { generation: number }) => r.generation > 0)).toEqual([]);
    expect((await reader.readMeta())?.generation).toBe(0);
  }, 180_000);

  it("after `adpipe offsets reset --to earliest --yes` every new record is counted exactly once", async () => {
    const reset = adpipe(
      "offsets",
      "reset",
      "--topic",
      topic.topic,
      "--to",
      "earliest",
      "--yes",
      "--reason",
      "integration test: topic recreated",
      "--actor",
      "vitest",
    );
    expect(reset.status, reset.out).toBe(0);
    expect(reset.out).toMatch(/reset #\d+ completed/);

    // The running services resume by themselves.
    await eventually(
      "both services ready again",
      async () =>
        (await readyz(ingestor!.opsPort)).status === 200 && (await readyz(tracker!.opsPort)).status === 200,
      60_000,
    );
    await eventually("both paths consumed the new log", caughtUp, 90_000);
    const afterRecords = await readTopic(topic.kafka, topic.topic);
    expect(afterRecords.length).toBe(400);

    const oracle = oracleOf([...before, ...afterRecords]);
    expect(await readGold(db.pool)).toEqual(expectedGold(oracle));
    const { rows: bronze } = await db.pool.query<{ g: number; p: number; n: string; lo: string; hi: string }>(
      `SELECT topic_generation AS g, "partition" AS p, count(*)::text AS n, min("offset")::text AS lo,
              max("offset")::text AS hi
         FROM bronze.ad_click_events_raw GROUP BY 1, 2 ORDER BY 1, 2`,
    );
    const expectBronze = (records: TopicRecord[], g: number) =>
      [...new Set(records.map((r) => r.partition))].sort().map((p) => {
        const mine = records.filter((r) => r.partition === p);
        return { g, p, n: String(mine.length), lo: "0", hi: String(mine.length - 1) };
      });
    expect(bronze).toEqual([...expectBronze(before, 0), ...expectBronze(afterRecords, 1)]);
    const silver = oracle.silver();
    const { rows: counts } = await db.pool.query<{ clean: string; dup: string }>(
      `SELECT (SELECT count(*) FROM silver.ad_click_events_clean)::text AS clean,
              (SELECT count(*) FROM silver.duplicate_clicks)::text AS dup`,
    );
    expect(counts[0]).toEqual({
      clean: String(silver.events - silver.duplicates),
      dup: String(silver.duplicates),
    });
    expect(diffAgainstOracle(await reader.readStates(), oracle.servingStateAt(Date.now()))).toEqual([]);

    const reconcile = adpipe("reconcile");
    expect(reconcile.status, reconcile.out).toBe(0);
    // Healthy again (a finding that raced the reset is cleared by the service's next check).
    let status = adpipe("status");
    for (let attempt = 0; status.status !== 0 && attempt < 5; attempt++) {
      await sleep(1_000);
      status = adpipe("status");
    }
    expect(status.status, status.out).toBe(0);

    const { rows: audit } = await db.pool.query<{
      actor: string;
      reason: string;
      status: string;
      target: string;
    }>("SELECT actor, reason, status, target FROM ingest.offset_resets ORDER BY id");
    expect(audit).toEqual([
      {
        actor: "vitest",
        reason: "integration test: topic recreated",
        status: "completed",
        target: "earliest",
      },
    ]);
  }, 240_000);
});
