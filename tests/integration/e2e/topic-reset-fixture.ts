/**
 * The services a topic-reset test runs under: its own database, topic (PARTITIONS partitions) and Redis
 * prefix, the ingestor and the tracker in process (checking the topic every second), the `adpipe` CLI as a
 * child process on the same settings, and everything stopped and removed in afterAll.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { loadTrackerConfig, startTrackerService, type TrackerService } from "@adpipe/budget-tracker";
import { type GeneratedRecord, generateStream } from "@adpipe/core";
import { type IngestorService, loadIngestorConfig, startIngestorService } from "@adpipe/ingestor";
import { SpendStore } from "@adpipe/spend-store";
import { createLogger } from "@adpipe/telemetry";
import type { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
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
import { endOffsets } from "../warehouse/support.js";

export const PARTITIONS = 2;

export function live(seed: number, events: number, runId: string): GeneratedRecord[] {
  return [...generateStream({ seed, events, advertisers: 12, startMs: Date.now(), intervalMs: 2, runId })];
}

/** /readyz of a service (status 0 when the request itself failed: polled again). */
export async function readyz(port: number): Promise<{ status: number; body: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: response.status, body: await response.text() };
  } catch (error) {
    return { status: 0, body: String(error) };
  }
}

export async function metric(
  service: { registry: { metrics(): Promise<string> } },
  pattern: RegExp,
): Promise<number> {
  const match = pattern.exec(await service.registry.metrics());
  return match === null ? 0 : Number(match[1]);
}

export interface TopicResetServicesOptions {
  /** Names the topic, Redis prefix and consumer groups. */
  name: string;
  /** Names the database (letters only). */
  database: string;
  /** Extra settings of both services (e.g. RESET_POLICY). */
  env?: Record<string, string>;
}

export interface TopicResetServices {
  readonly db: TestDatabase;
  readonly topic: TestTopic;
  readonly redis: Redis;
  readonly prefix: string;
  readonly ingestor: IngestorService | undefined;
  readonly tracker: TrackerService | undefined;
  readonly reader: SpendStore;
  /** Runs `adpipe <args>` as a child process on this test's settings. */
  adpipe(...args: string[]): { status: number | null; out: string };
  /** Both the warehouse and Redis have consumed every partition to its end. */
  caughtUp(): Promise<boolean>;
}

/** Registers beforeAll/afterAll in the calling file; the fields are set once beforeAll has run. */
export function useTopicResetServices(options: TopicResetServicesOptions): TopicResetServices {
  let db: TestDatabase;
  let topic: TestTopic;
  let redis: Redis;
  let prefix: string;
  let ingestor: IngestorService | undefined;
  let tracker: TrackerService | undefined;
  let reader: SpendStore;
  const ingestorGroup = uniqueName(`${options.name}-ingestor`);
  const trackerGroup = uniqueName(`${options.name}-tracker`);

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
      ([partition, end]) =>
        end === "0" || (warehouse.get(partition) === end && redisAt.get(partition) === end),
    );
  }

  beforeAll(async () => {
    [db, topic] = await Promise.all([
      createTestDatabase(options.database),
      createTestTopic(options.name, PARTITIONS),
    ]);
    redis = testRedis();
    prefix = uniqueRedisPrefix(options.name);
    reader = new SpendStore({ redis, topic: topic.topic, prefix });
    const services = testServices();
    const common = {
      KAFKA_BROKERS: services.kafkaBrokers.join(","),
      KAFKA_TOPIC: topic.topic,
      OPS_PORT: "0",
      OPS_HOST: "127.0.0.1",
      TOPIC_CHECK_INTERVAL_MS: "1000",
      LOG_LEVEL: "error",
      ...options.env,
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

  return {
    get db() {
      return db;
    },
    get topic() {
      return topic;
    },
    get redis() {
      return redis;
    },
    get prefix() {
      return prefix;
    },
    get ingestor() {
      return ingestor;
    },
    get tracker() {
      return tracker;
    },
    get reader() {
      return reader;
    },
    adpipe,
    caughtUp,
  };
}
