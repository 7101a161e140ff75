/**
 * `adpipe offsets reset` across a crash: a reset that died after moving the warehouse and before moving
 * the tracker is visible in `adpipe status` (exit 1), refuses another target, and is finished by running the same
 * command again: the tracker joins the warehouse's generation, the warehouse is not moved twice, the audit row
 * closes. Run once more, the command finds nothing to change. `--help` documents it.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { SpendStore } from "@adpipe/spend-store";
import { applyWarehouseReset, readWarehousePositions, startOffsetReset } from "@adpipe/warehouse";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
import { produceRecords } from "../realtime/support/harness.js";

let db: TestDatabase;
let topic: TestTopic;
let redis: Redis;
let store: SpendStore;
const prefix = uniqueRedisPrefix("reset-resume");
const group = uniqueName("reset-resume-ingestor");

function adpipe(...args: string[]): { status: number | null; out: string } {
  const services = testServices();
  const result = spawnSync(
    process.execPath,
    ["--conditions", "source", "--import", "tsx", join(REPO_ROOT, "packages/cli/src/main.ts"), ...args],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? "",
        KAFKA_BROKERS: services.kafkaBrokers.join(","),
        KAFKA_TOPIC: topic.topic,
        DATABASE_URL: db.url,
        REDIS_URL: services.redisUrl,
        REDIS_KEY_PREFIX: prefix,
        INGESTOR_GROUP_ID: group,
        TRACKER_GROUP_ID: uniqueName("reset-resume-tracker"),
      },
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

beforeAll(async () => {
  [db, topic] = await Promise.all([createTestDatabase("resetresume"), createTestTopic("reset-resume", 2)]);
  redis = testRedis();
  store = new SpendStore({ redis, topic: topic.topic, prefix });
  await store.loadScripts();
  // The state a recreated topic leaves: both stores consumed the old log far beyond the new log's end.
  await produceRecords(
    topic.kafka,
    topic.topic,
    Array.from({ length: 40 }, (_, i) => ({
      key: `k${i % 5}`,
      value: new TextEncoder().encode("{}"),
      timestampMs: Date.now(),
    })),
  );
  await db.pool.query(
    `INSERT INTO ingest.consumer_offsets (pipeline, topic, "partition", next_offset)
     VALUES ($1, $2, 0, 500), ($1, $2, 1, 700)`,
    [group, topic.topic],
  );
  await store.createSentinel();
  await redis.hset(store.keys.meta(topic.topic), "o:0", 500, "o:1", 700);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([db?.drop(), topic?.delete()]);
  if (redis !== undefined) {
    await deleteRedisPrefix(redis, prefix);
    await redis.quit();
  }
});

describe("adpipe offsets reset after a crash midway", () => {
  it("documents itself", () => {
    const help = adpipe("offsets", "reset", "--help");
    expect(help.status).toBe(0);
    for (const option of ["--topic", "--to", "--yes", "--new-log", "--reason", "--actor", "--skip-tracker"])
      expect(help.out).toContain(option);
    expect(help.out).toContain("earliest, latest, or an ISO-8601 time");
  });

  it("shows the unfinished reset, refuses another target, and finishes it when run again", async () => {
    // The crashed run: its audit row and the warehouse step, nothing else.
    const resetId = await startOffsetReset(db.pool, {
      topic: topic.topic,
      target: "earliest",
      actor: "crashed operator",
      reason: "topic recreated",
      source: "cli",
      plan: { newLog: true },
    });
    await applyWarehouseReset(db.pool, {
      topic: topic.topic,
      resetId,
      fromGeneration: 0,
      toGeneration: 1,
      moves: [0, 1].map((partition) => ({ pipeline: group, partition, to: 0n })),
    });

    const status = adpipe("status");
    expect(status.status, status.out).toBe(1);
    expect(status.out).toContain(`reset #${resetId} (--to earliest, crashed operator`);
    expect(status.out).toMatch(/RESET \(stored 700 > end \d+\)/);

    const other = adpipe("offsets", "reset", "--topic", topic.topic, "--to", "latest", "--yes");
    expect(other.status, other.out).toBe(1);
    expect(other.out).toContain("run it with --to earliest to finish it first");

    const dry = adpipe("offsets", "reset", "--topic", topic.topic, "--to", "earliest");
    expect(dry.status, dry.out).toBe(0);
    expect(dry.out).toContain(`resuming unfinished reset #${resetId}`);
    expect(dry.out).toContain("dry run: nothing changed");
    expect((await store.readMeta())?.generation).toBe(0);

    const finish = adpipe("offsets", "reset", "--topic", topic.topic, "--to", "earliest", "--yes");
    expect(finish.status, finish.out).toBe(0);
    expect(finish.out).toContain("tracker: moved (generation 1)");
    expect(await store.readMeta()).toMatchObject({
      generation: 1,
      offsets: [
        { partition: 0, offset: 0 },
        { partition: 1, offset: 0 },
      ],
    });
    // The warehouse was not moved a second time.
    expect((await readWarehousePositions(db.pool, topic.topic)).generation).toBe(1);
    const { rows } = await db.pool.query<{ status: string; tracker: boolean; warehouse: boolean }>(
      `SELECT status, tracker_applied_at IS NOT NULL AS tracker, warehouse_applied_at IS NOT NULL AS warehouse
         FROM ingest.offset_resets`,
    );
    expect(rows).toEqual([{ status: "completed", tracker: true, warehouse: true }]);

    const again = adpipe("offsets", "reset", "--topic", topic.topic, "--to", "earliest", "--yes");
    expect(again.status, again.out).toBe(0);
    expect(again.out).toContain("nothing to change");
    expect(adpipe("status").status).toBe(0);
  });
});
