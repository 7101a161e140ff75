import { setTimeout as sleep } from "node:timers/promises";
import {
  type AppliedBatch,
  loadTrackerConfig,
  startTrackerService,
  type TrackerService,
} from "@adpipe/budget-tracker";
import { Oracle } from "@adpipe/core/testing";
import { type IngestorService, loadIngestorConfig, startIngestorService } from "@adpipe/ingestor";
import { SpendStore, spendKeys } from "@adpipe/spend-store";
import { storedOffsets } from "@adpipe/warehouse";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { register as registerRebuild } from "../../../packages/cli/src/commands/rebuild-redis.js";
import { buildProgram, runProgram } from "../../../packages/cli/src/program.js";
import {
  createTestTopic,
  deleteRedisPrefix,
  type TestTopic,
  testRedis,
  testServices,
  uniqueName,
  uniqueRedisPrefix,
} from "../../support/index.js";
import { endOffsets, eventually, produceRecords, trackerEnv, waitCaughtUp } from "./support/harness.js";
import { diffAgainstOracle } from "./support/oracle-compare.js";
import { createRealtimeDatabase, type RealtimeDatabase } from "./support/postgres.js";
import { generated } from "./support/stream.js";

// Redis loses the tracker's state in the middle of a run (the test deletes every key under its own prefix,
// standing in for FLUSHALL without wiping other tests' data); the tracker notices (sentinel gone), rebuilds
// from Postgres (Silver, written by the real ingestor in a database of this test) and resumes from the
// ingestor's offsets. The state must end exactly as the oracle says.

let topic: TestTopic;
let redis: Redis;
let prefix: string;
let database: RealtimeDatabase;
let ingestor: IngestorService;
let tracker: TrackerService;
let reader: SpendStore;
const ingestorGroup = uniqueName("rt-rebuild-ingestor");
// Wall clock throughout (the CLI has no injected clock): the stream covers the last three hours.
const spanMs = 3 * 3_600_000;
// Half the advertisers in hard_cap: the rebuild and reconciliation cover over_cap amounts and budget modes too.
const stream = generated({
  seed: 41,
  events: 8_000,
  advertisers: 30,
  startMs: Date.now() - spanMs,
  spanMs,
  hardCapShare: 0.5,
});
const applied: AppliedBatch[] = [];

beforeAll(async () => {
  topic = await createTestTopic("rt-rebuild", 3);
  redis = testRedis();
  prefix = uniqueRedisPrefix("rt-rebuild");
  database = await createRealtimeDatabase();
  ingestor = await startIngestorService(
    loadIngestorConfig({
      KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
      KAFKA_TOPIC: topic.topic,
      DATABASE_URL: database.url,
      INGESTOR_GROUP_ID: ingestorGroup,
      MIGRATE_ON_START: "false",
      RETENTION_INTERVAL_MS: "0",
      OPS_PORT: "0",
      OPS_HOST: "127.0.0.1",
      LOG_LEVEL: "error",
    }),
  );
  const env = trackerEnv({
    topic: topic.topic,
    prefix,
    databaseUrl: database.url,
    extra: { WAREHOUSE_PIPELINE: ingestorGroup, STATE_CHECK_INTERVAL_MS: "300", RECONCILE_INTERVAL_MS: "0" },
  });
  tracker = await startTrackerService(loadTrackerConfig(env), { onBatchApplied: (b) => applied.push(b) });
  reader = new SpendStore({ redis, topic: topic.topic, prefix });
}, 120_000);

afterAll(async () => {
  await tracker?.stop();
  await ingestor?.stop();
  await topic?.delete();
  await database?.drop();
  if (redis !== undefined) {
    await deleteRedisPrefix(redis, prefix);
    await redis.quit();
  }
});

async function ingestorOffsets(): Promise<Map<number, number>> {
  const client = await database.pool.connect();
  try {
    const stored = await storedOffsets(client, { topic: topic.topic, pipeline: ingestorGroup });
    return new Map(stored.map((o) => [o.partition, Number(o.offset)]));
  } finally {
    client.release();
  }
}

async function ingestorCaughtUp(): Promise<void> {
  const target = await endOffsets(topic.kafka, topic.topic);
  await eventually(
    "ingestor caught up",
    async () => {
      const stored = await ingestorOffsets();
      return target.every(({ partition, offset }) => offset === 0 || (stored.get(partition) ?? 0) >= offset);
    },
    90_000,
  );
}

function oracleUpTo(count: number): Oracle {
  return new Oracle().observeAll(stream.slice(0, count));
}

/**
 * Redis equals the oracle's state now. When a budget period ends between the last apply and the check, the
 * tracker's rollover sweep (every second) catches up: so the comparison is retried for a few seconds.
 */
async function expectExact(oracle: Oracle): Promise<void> {
  let problems: string[] = [];
  await eventually(
    "Redis equals the oracle",
    async () => {
      problems = diffAgainstOracle(await reader.readStates(), oracle.servingStateAt(Date.now()));
      return problems.length === 0;
    },
    5_000,
  ).catch(() => undefined);
  expect(problems).toEqual([]);
}

describe("rebuild after Redis lost the state", () => {
  it("rebuilds from Postgres mid-run and ends exact", async () => {
    const firstPart = Math.floor(stream.length * 0.6);
    await produceRecords(topic.kafka, topic.topic, stream.slice(0, firstPart));
    await waitCaughtUp(reader, topic.kafka, topic.topic, 90_000);
    await ingestorCaughtUp();
    await expectExact(oracleUpTo(firstPart));

    // The rest arrives while Redis loses everything.
    const producing = produceRecords(topic.kafka, topic.topic, stream.slice(firstPart), 200);
    await sleep(150);
    const deleted = await deleteRedisPrefix(redis, prefix);
    expect(deleted).toBeGreaterThan(0);
    await producing;

    await eventually(
      "the tracker rebuilt",
      async () => /budget_tracker_rebuilds_total\{[^}]*\} 1/.test(await tracker.registry.metrics()),
      60_000,
    );
    await waitCaughtUp(reader, topic.kafka, topic.topic, 90_000);
    await expectExact(oracleUpTo(stream.length));
  });

  it("reconciliation with Postgres finds no difference in steady state", async () => {
    await ingestorCaughtUp();
    const report = await tracker.tracker.reconcile();
    expect(report).not.toBeNull();
    expect(report?.offsetsApart).toBe(0);
    expect(report?.mismatched).toEqual([]);
    expect(report?.netAbsDiffMicros).toBe(0);
    expect(report?.advertisers).toBeGreaterThan(10);
    const metrics = await tracker.registry.metrics();
    expect(metrics).toMatch(/budget_tracker_reconcile_abs_difference\{[^}]*measure="net_micros"[^}]*\} 0/);
    expect(metrics).toMatch(
      /budget_tracker_reconcile_abs_difference\{[^}]*measure="over_cap_micros"[^}]*\} 0/,
    );
  });

  it("reconciliation reports an over_cap amount or a budget mode Redis holds differently from Postgres", async () => {
    const states = [...(await reader.readStates()).values()];
    const capped = states.find((state) => state.mode === "hard_cap" && state.overCapMicros > 0);
    expect(capped, "the stream drives a hard_cap advertiser beyond its budget").toBeDefined();
    const key = spendKeys(prefix).advertiser(capped!.advertiserId);
    const original = await redis.hmget(key, "over_cap_micros", "mode");
    try {
      await redis.hset(key, "over_cap_micros", String(capped!.overCapMicros + 3), "mode", "observe");
      const report = await tracker.tracker.reconcile();
      expect(report?.offsetsApart).toBe(0);
      expect(report?.mismatched).toHaveLength(1);
      expect(report?.mismatched[0]).toMatchObject({
        advertiserId: capped!.advertiserId,
        overCapDiffMicros: 3,
        modeDiffers: true,
        netDiffMicros: 0,
        redis: { mode: "observe" },
        warehouse: { mode: "hard_cap", overCapMicros: capped!.overCapMicros },
      });
      expect(report?.overCapAbsDiffMicros).toBe(3);
    } finally {
      await redis.hset(key, "over_cap_micros", original[0]!, "mode", original[1]!);
    }
    expect((await tracker.tracker.reconcile())?.mismatched).toEqual([]);
  });

  it("`adpipe rebuild-redis` while the tracker runs: the tracker adopts the new state and stays exact", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      REDIS_URL: testServices().redisUrl,
      KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
      KAFKA_TOPIC: topic.topic,
      DATABASE_URL: database.url,
      REDIS_KEY_PREFIX: prefix,
      WAREHOUSE_PIPELINE: ingestorGroup,
    });
    let code: number;
    try {
      code = await runProgram(buildProgram([registerRebuild]), [
        "node",
        "adpipe",
        "rebuild-redis",
        "--wait-lock",
        "10000",
      ]);
    } finally {
      process.env = saved;
    }
    expect(code).toBe(0);
    const before = applied.length;
    const extra = generated({
      seed: 42,
      events: 500,
      advertisers: 30,
      startMs: Date.now() - 60_000,
      spanMs: 60_000,
      initialBudgets: false,
    });
    await produceRecords(topic.kafka, topic.topic, extra);
    await waitCaughtUp(reader, topic.kafka, topic.topic, 90_000);
    expect(applied.length).toBeGreaterThan(before);
    await expectExact(oracleUpTo(stream.length).observeAll(extra));
  });
});
