import {
  loadTrackerConfig,
  type StartTrackerOptions,
  startTrackerService,
  type TrackerService,
} from "@adpipe/budget-tracker";
import type { Oracle } from "@adpipe/core/testing";
import { type IngestorService, loadIngestorConfig, startIngestorService } from "@adpipe/ingestor";
import { SpendStore } from "@adpipe/spend-store";
import { storedOffsets } from "@adpipe/warehouse";
import type { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { register as registerRebuild } from "../../../../packages/cli/src/commands/rebuild-redis.js";
import { buildProgram, runProgram } from "../../../../packages/cli/src/program.js";
import {
  createTestTopic,
  deleteRedisPrefix,
  type TestTopic,
  testRedis,
  testServices,
  uniqueName,
  uniqueRedisPrefix,
} from "../../../support/index.js";
import { endOffsets, eventually, trackerEnv } from "./harness.js";
import { diffAgainstOracle } from "./oracle-compare.js";
import { createRealtimeDatabase, type RealtimeDatabase } from "./postgres.js";

export interface RealtimePipelineOptions {
  /** Names this test's topic, Redis key prefix and ingestor group. */
  name: string;
  partitions: number;
  /**
   * A Postgres database of this test (warehouse migrated) and the real ingestor writing Bronze/Silver/Gold
   * into it; the tracker then reads the same database and follows the ingestor's offsets.
   */
  ingestor?: { env?: Record<string, string> };
  /** The in-process tracker; `false` where the test starts its own (a child process, a restart). */
  tracker?: false | { env?: Record<string, string>; databaseUrl?: string; options?: StartTrackerOptions };
}

/** One test's slice of the realtime pipeline; every field is set once the file's beforeAll has run. */
export interface RealtimePipeline {
  readonly topic: TestTopic;
  readonly redis: Redis;
  readonly prefix: string;
  readonly reader: SpendStore;
  readonly database: RealtimeDatabase;
  readonly ingestor: IngestorService;
  readonly ingestorGroup: string;
  readonly tracker: TrackerService;
  /** The ingestor's committed offsets in the warehouse, per partition. */
  ingestorOffsets(): Promise<Map<number, number>>;
  /** Resolves when the ingestor's warehouse offsets reach the end of every non-empty partition. */
  ingestorCaughtUp(timeoutMs: number): Promise<void>;
}

interface Parts {
  topic?: TestTopic;
  redis?: Redis;
  prefix?: string;
  reader?: SpendStore;
  database?: RealtimeDatabase;
  ingestor?: IngestorService;
  tracker?: TrackerService;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`realtime pipeline fixture: ${what} is not set up in this test`);
  return value;
}

/**
 * Registers beforeAll/afterAll in the calling test file: its own topic, Redis key prefix and (with `ingestor`)
 * Postgres database, the services asked for started on them, and everything stopped, deleted and dropped in
 * afterAll, also when the setup failed half way.
 */
export function useRealtimePipeline(options: RealtimePipelineOptions): RealtimePipeline {
  const parts: Parts = {};
  const ingestorGroup = uniqueName(`${options.name}-ingestor`);

  beforeAll(async () => {
    parts.topic = await createTestTopic(options.name, options.partitions);
    parts.redis = testRedis();
    parts.prefix = uniqueRedisPrefix(options.name);
    if (options.ingestor !== undefined) {
      parts.database = await createRealtimeDatabase();
      parts.ingestor = await startIngestorService(
        loadIngestorConfig({
          KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
          KAFKA_TOPIC: parts.topic.topic,
          DATABASE_URL: parts.database.url,
          INGESTOR_GROUP_ID: ingestorGroup,
          MIGRATE_ON_START: "false",
          RETENTION_INTERVAL_MS: "0",
          OPS_PORT: "0",
          OPS_HOST: "127.0.0.1",
          LOG_LEVEL: "error",
          ...options.ingestor.env,
        }),
      );
    }
    const tracker = options.tracker ?? {};
    if (tracker !== false) {
      const env = trackerEnv({
        topic: parts.topic.topic,
        prefix: parts.prefix,
        ...(tracker.databaseUrl !== undefined
          ? { databaseUrl: tracker.databaseUrl }
          : parts.database !== undefined
            ? { databaseUrl: parts.database.url }
            : {}),
        extra: {
          ...(parts.ingestor === undefined ? {} : { WAREHOUSE_PIPELINE: ingestorGroup }),
          ...tracker.env,
        },
      });
      parts.tracker = await startTrackerService(loadTrackerConfig(env), tracker.options);
    }
    parts.reader = new SpendStore({ redis: parts.redis, topic: parts.topic.topic, prefix: parts.prefix });
  }, 120_000);

  afterAll(async () => {
    // Each step runs even when an earlier one throws, so a failed stop never leaks a topic, schema or keys.
    const failures: unknown[] = [];
    const step = async (run: () => Promise<unknown> | undefined) => {
      try {
        await run();
      } catch (error) {
        failures.push(error);
      }
    };
    await step(() => parts.tracker?.stop());
    await step(() => parts.ingestor?.stop());
    await step(() => parts.topic?.delete());
    await step(() => parts.database?.drop());
    const { redis, prefix } = parts;
    if (redis !== undefined) {
      if (prefix !== undefined) await step(() => deleteRedisPrefix(redis, prefix));
      await step(() => redis.quit());
    }
    if (failures.length > 0) throw new AggregateError(failures, "realtime pipeline fixture: cleanup failed");
  });

  const pipeline: RealtimePipeline = {
    get topic() {
      return required(parts.topic, "the topic");
    },
    get redis() {
      return required(parts.redis, "Redis");
    },
    get prefix() {
      return required(parts.prefix, "the Redis key prefix");
    },
    get reader() {
      return required(parts.reader, "the spend-store reader");
    },
    get database() {
      return required(parts.database, "the database (pass `ingestor`)");
    },
    get ingestor() {
      return required(parts.ingestor, "the ingestor (pass `ingestor`)");
    },
    ingestorGroup,
    get tracker() {
      return required(parts.tracker, "the tracker");
    },
    async ingestorOffsets() {
      const client = await pipeline.database.pool.connect();
      try {
        const stored = await storedOffsets(client, { topic: pipeline.topic.topic, pipeline: ingestorGroup });
        return new Map(stored.map((o) => [o.partition, Number(o.offset)]));
      } finally {
        client.release();
      }
    },
    async ingestorCaughtUp(timeoutMs) {
      const target = await endOffsets(pipeline.topic.kafka, pipeline.topic.topic);
      await eventually(
        "ingestor caught up",
        async () => {
          const stored = await pipeline.ingestorOffsets();
          return target.every(
            ({ partition, offset }) => offset === 0 || (stored.get(partition) ?? 0) >= offset,
          );
        },
        timeoutMs,
      );
    },
  };
  return pipeline;
}

/**
 * Runs `adpipe rebuild-redis --wait-lock 10000` in process against this pipeline's topic, Redis prefix and
 * warehouse (the CLI is configured by env vars only: they are set for the run and restored after it).
 */
export async function runRebuildRedis(pipeline: RealtimePipeline): Promise<number> {
  const saved = { ...process.env };
  Object.assign(process.env, {
    REDIS_URL: testServices().redisUrl,
    KAFKA_BROKERS: testServices().kafkaBrokers.join(","),
    KAFKA_TOPIC: pipeline.topic.topic,
    DATABASE_URL: pipeline.database.url,
    REDIS_KEY_PREFIX: pipeline.prefix,
    WAREHOUSE_PIPELINE: pipeline.ingestorGroup,
  });
  try {
    return await runProgram(buildProgram([registerRebuild]), [
      "node",
      "adpipe",
      "rebuild-redis",
      "--wait-lock",
      "10000",
    ]);
  } finally {
    process.env = saved;
  }
}

/**
 * Where Redis differs from the oracle's serving state now (empty when equal). Retried for `timeoutMs`: when a
 * budget period ends between the last apply and the check, the tracker's rollover sweep catches up.
 */
export async function redisDiffFromOracle(
  reader: SpendStore,
  oracle: Oracle,
  timeoutMs = 5_000,
): Promise<string[]> {
  let problems: string[] = [];
  await eventually(
    "Redis equals the oracle",
    async () => {
      problems = diffAgainstOracle(await reader.readStates(), oracle.servingStateAt(Date.now()));
      return problems.length === 0;
    },
    timeoutMs,
  ).catch(() => undefined);
  return problems;
}
