import { type ApiConfig, type ApiRuntime, createApi, loadApiConfig } from "@adpipe/api";
import { loadTrackerConfig, startTrackerService, type TrackerService } from "@adpipe/budget-tracker";
import { SpendStore } from "@adpipe/spend-store";
import { createLogger } from "@adpipe/telemetry";
import { migrate } from "@adpipe/warehouse";
import type { Redis } from "ioredis";
import pg from "pg";
import {
  createTestTopic,
  deleteRedisPrefix,
  type TestTopic,
  testRedis,
  testServices,
  uniqueIdentifier,
  uniqueName,
  uniqueRedisPrefix,
} from "../../support/index.js";

/**
 * The API's test bench: its own database (migrated by the warehouse migrator), its own topic and
 * Redis prefix, and a LOGIN role in the API's group role, so every test talks to Postgres exactly as
 * production does (reader + audit grants), not as a superuser.
 */

export interface TestDatabase {
  readonly name: string;
  /** Superuser URL of the test database (fixtures, Gold rows). */
  readonly adminUrl: string;
  /** URL of a LOGIN role that is a member of adpipe_api only. */
  readonly apiUrl: string;
  readonly loginRole: string;
  readonly admin: pg.Pool;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string, user?: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  if (user !== undefined) {
    parsed.username = user;
    parsed.password = "";
  }
  return parsed.toString();
}

export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const { databaseUrl } = testServices();
  const name = uniqueIdentifier(`adpipe_api_${prefix}`);
  const loginRole = uniqueIdentifier(`api_login_${prefix}`);
  const root = new pg.Client({ connectionString: databaseUrl });
  await root.connect();
  try {
    await root.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await root.end();
  }
  const adminUrl = withDatabase(databaseUrl, name);
  const admin = new pg.Pool({ connectionString: adminUrl, max: 3, options: "-c TimeZone=UTC" });
  admin.on("error", () => undefined);
  await migrate(admin);
  await admin.query(`CREATE ROLE ${pg.escapeIdentifier(loginRole)} LOGIN IN ROLE adpipe_api`);
  let dropped = false;
  return {
    name,
    adminUrl,
    apiUrl: withDatabase(databaseUrl, name, loginRole),
    loginRole,
    admin,
    async drop() {
      if (dropped) return;
      dropped = true;
      await admin.end();
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
        await client.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(loginRole)}`);
      } finally {
        await client.end();
      }
    },
  };
}

export const WRITE_TOKEN = "writer-secret-0123456789abcdef";
export const OTHER_WRITE_TOKEN = "rotated-secret-fedcba9876543210";
export const READ_TOKEN = "reader-secret-0123456789";

export interface ApiBench {
  readonly api: ApiRuntime;
  readonly baseUrl: string;
  readonly config: ApiConfig;
  readonly db: TestDatabase;
  readonly topic: TestTopic;
  readonly prefix: string;
  readonly redis: Redis;
  close(): Promise<void>;
}

export interface ApiBenchOptions {
  /** Extra or overriding environment variables for the API. */
  env?: Record<string, string>;
  partitions?: number;
  /** Share a database/topic/prefix with another bench (e.g. a second API with other settings). */
  reuse?: Pick<ApiBench, "db" | "topic" | "prefix">;
}

/** Starts the API on a free port against its own database, topic and Redis prefix. */
export async function startApiBench(name: string, options: ApiBenchOptions = {}): Promise<ApiBench> {
  const services = testServices();
  const db = options.reuse?.db ?? (await createTestDatabase(name));
  const topic = options.reuse?.topic ?? (await createTestTopic(`api-${name}`, options.partitions ?? 3));
  const prefix = options.reuse?.prefix ?? uniqueRedisPrefix(`api-${name}`);
  const config = loadApiConfig({
    API_HOST: "127.0.0.1",
    API_PORT: "0",
    DATABASE_URL: db.apiUrl,
    REDIS_URL: services.redisUrl,
    REDIS_KEY_PREFIX: prefix,
    KAFKA_BROKERS: services.kafkaBrokers.join(","),
    KAFKA_TOPIC: topic.topic,
    API_WRITE_TOKENS: `alice:${WRITE_TOKEN},${OTHER_WRITE_TOKEN}`,
    // Reads need a token by default (issue 14): tests read with READ_TOKEN (or a write token).
    API_READ_TOKENS: `reader:${READ_TOKEN}`,
    API_LAG_GROUPS: "adpipe-api-test-ingestor,adpipe-api-test-tracker",
    // Tests provoke 503s on purpose (Postgres down); only real errors should reach the output.
    LOG_LEVEL: "error",
    ...options.env,
  });
  const api = await createApi(config);
  const baseUrl = await api.listen();
  const redis = testRedis();
  let closed = false;
  return {
    api,
    baseUrl,
    config,
    db,
    topic,
    prefix,
    redis,
    async close() {
      if (closed) return;
      closed = true;
      await api.close();
      if (options.reuse === undefined) {
        await deleteRedisPrefix(redis, prefix);
        await topic.delete();
        await db.drop();
      }
      redis.disconnect();
    },
  };
}

export interface JsonResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** fetch with a JSON body and a parsed JSON answer (the text too, for "no stack trace" checks). */
export async function call<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  options: {
    body?: unknown;
    rawBody?: string | Uint8Array;
    token?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | Uint8Array | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text === "" ? null : JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/**
 * The budget-tracker as it runs in production (configuration from the environment, budget_mode read by
 * default) on a bench's topic and Redis prefix, rebuilding by replay since a bench has no ingestor.
 */
export function startBenchTracker(bench: ApiBench, name: string): Promise<TrackerService> {
  const services = testServices();
  return startTrackerService(
    loadTrackerConfig({
      KAFKA_BROKERS: services.kafkaBrokers.join(","),
      KAFKA_TOPIC: bench.topic.topic,
      REDIS_URL: services.redisUrl,
      REDIS_KEY_PREFIX: bench.prefix,
      TRACKER_GROUP_ID: uniqueName(`api-${name}-tracker`),
      REBUILD_SOURCE: "replay",
      RECONCILE_INTERVAL_MS: "0",
      OPS_PORT: "0",
      OPS_HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
    }),
    { logger: createLogger({ service: "budget-tracker", level: "warn" }) },
  );
}

/**
 * The budget-tracker's Redis state for a bench's topic and prefix as the tracker creates it on first start
 * (scripts loaded, sentinel written), for tests that need the store without running a tracker.
 */
export async function createTrackerState(bench: ApiBench): Promise<SpendStore> {
  const store = new SpendStore({ redis: bench.redis, topic: bench.topic.topic, prefix: bench.prefix });
  await store.loadScripts();
  await store.createSentinel();
  return store;
}
