import { redact, redisConnectionSecrets } from "@adpipe/config";
import { createKafka, WHOLE_SEND_PRODUCER } from "@adpipe/kafka";
import { createRedisClient, createServingClient } from "@adpipe/serving-client";
import { SpendStore } from "@adpipe/spend-store";
import { createLogger, createMetricsRegistry, type PinoLogger } from "@adpipe/telemetry";
import pg from "pg";
import type { Registry } from "prom-client";
import { spendStorePauseControl } from "./adapters/pauses.js";
import { createPipelineHealth } from "./adapters/pipeline-health.js";
import { createKafkaPublisher } from "./adapters/publisher.js";
import { type ApiApp, buildApp } from "./app.js";
import { parseTokenList } from "./auth.js";
import type { ApiConfig } from "./config.js";

/** Consumer groups shown on the dashboard when API_LAG_GROUPS is unset (the services' defaults). */
export const DEFAULT_LAG_GROUPS = ["adpipe-ingestor", "adpipe-budget-tracker"] as const;

/** Where `npm run build:web` puts the dashboard; the same URL resolves from src/ and dist/. */
export const DEFAULT_DASHBOARD_DIR = new URL("../dist/web/", import.meta.url);

export interface ApiRuntimeOptions {
  logger?: PinoLogger;
  registry?: Registry;
  clock?: () => number;
  dashboardDir?: URL;
}

export interface ApiRuntime {
  readonly app: ApiApp;
  readonly config: ApiConfig;
  /** Listens on API_HOST:API_PORT (port 0 picks a free one); resolves to the base URL. */
  listen(): Promise<string>;
  /** Stops accepting requests, lets those in flight finish, then closes Kafka, Redis and Postgres. */
  close(): Promise<void>;
}

function secretsOf(config: ApiConfig): string[] {
  const tokens = [config.API_WRITE_TOKENS, config.API_READ_TOKENS]
    .flatMap((list) => (list ?? "").split(","))
    .map((entry) => entry.trim().replace(/^[A-Za-z0-9_.-]{1,64}:/, ""))
    .filter((secret) => secret.length > 0);
  const urlPasswords = [config.DATABASE_URL, config.REDIS_URL].flatMap((url) => {
    try {
      const password = decodeURIComponent(new URL(url).password);
      return password === "" ? [] : [password];
    } catch {
      return [];
    }
  });
  const redisSecrets = redisConnectionSecrets(config.redis);
  const kafkaSecrets = [
    config.EVENT_HUB_CONNECTION_STRING,
    config.KAFKA_SASL_PASSWORD,
    config.AZURE_CLIENT_SECRET,
  ];
  return [
    ...tokens,
    ...urlPasswords,
    ...redisSecrets,
    ...kafkaSecrets.filter((secret): secret is string => secret !== undefined),
  ];
}

/** Builds every client from the configuration and the HTTP app on top of them. */
export async function createApi(config: ApiConfig, options: ApiRuntimeOptions = {}): Promise<ApiRuntime> {
  const secrets = secretsOf(config);
  const logger = options.logger ?? createLogger({ service: "api", level: config.LOG_LEVEL, secrets });
  const registry = options.registry ?? createMetricsRegistry("api");

  // Lookups must fail fast when Redis is away, not queue behind reconnects.
  const redis = createRedisClient(config.redis, {
    maxRetriesPerRequest: 1,
    commandTimeout: 1_000,
    connectionName: "adpipe-api",
  });
  redis.on("error", (error: Error) =>
    logger.warn({ err: redact(error.message, secrets) }, "redis connection error"),
  );

  const pool = new pg.Pool({
    connectionString: config.DATABASE_URL,
    max: config.API_PG_POOL_MAX,
    statement_timeout: config.API_PG_STATEMENT_TIMEOUT_MS,
    connectionTimeoutMillis: 2_000,
    application_name: "adpipe-api",
    // Same session settings as the warehouse's pools: UTC buckets.
    options: "-c TimeZone=UTC",
  });
  pool.on("error", (error) =>
    logger.warn({ err: redact(error.message, secrets) }, "idle postgres client failed"),
  );
  // pg-pool listens for errors only on idle clients: a connection reset while the audit transaction holds its
  // client (pool.connect()) would be an unhandled 'error' event that terminates the API. The query in flight
  // still rejects (503), and release() drops the dead client.
  pool.on("connect", (client) => {
    client.on("error", () => undefined);
  });

  const connection = config.kafka;
  const kafka = createKafka(connection, { logger });
  const publisher = createKafkaPublisher(kafka.producer(WHOLE_SEND_PRODUCER), connection.topic);
  const pipelineHealth = createPipelineHealth({
    admin: kafka.admin(),
    topic: connection.topic,
    groups: config.API_LAG_GROUPS ?? DEFAULT_LAG_GROUPS,
    pool,
  });

  const serving = createServingClient({
    redis,
    prefix: config.REDIS_KEY_PREFIX,
    // The tracker's topic names the state guard reservations check (fail closed when the state is lost).
    topic: connection.topic,
    serveWhenUnknown: config.SERVE_WHEN_UNKNOWN,
    ...(config.API_SERVING_CACHE_TTL_MS > 0
      ? {
          localCache: {
            maxEntries: config.API_SERVING_CACHE_MAX_ENTRIES,
            ttlMs: config.API_SERVING_CACHE_TTL_MS,
          },
        }
      : {}),
  });
  // The cache stays bypassed until its subscription is live; a failed subscribe is logged, not fatal.
  serving.ready().catch((error: unknown) => logger.warn({ err: error }, "serving cache subscription failed"));
  const store = new SpendStore({
    redis,
    topic: connection.topic,
    prefix: config.REDIS_KEY_PREFIX,
    budgetPeriod: config.BUDGET_PERIOD,
  });

  const writeTokens = parseTokenList(config.API_WRITE_TOKENS);
  const readTokens = parseTokenList(config.API_READ_TOKENS);
  if (writeTokens.isEmpty)
    logger.warn("API_WRITE_TOKENS is empty: every write request will be refused (401)");
  if (config.API_PUBLIC_READS) {
    logger.warn(
      "API_PUBLIC_READS=true: /v1 reads (lookups, reports, audit trail) need no token; run this only behind a private network",
    );
  } else if (readTokens.isEmpty && writeTokens.isEmpty) {
    logger.warn("no API_READ_TOKENS or API_WRITE_TOKENS: every /v1 request will be refused (401)");
  }

  const app = await buildApp({
    logger,
    registry,
    redis,
    redisKeyPrefix: config.REDIS_KEY_PREFIX,
    serving,
    pool,
    publisher,
    pauses: spendStorePauseControl(store),
    pipelineHealth,
    writeTokens,
    readTokens,
    publicReads: config.API_PUBLIC_READS,
    serveWhenUnknown: config.SERVE_WHEN_UNKNOWN,
    budgetPeriod: config.BUDGET_PERIOD,
    limits: {
      bodyLimitBytes: config.API_BODY_LIMIT_BYTES,
      maxClicksPerRequest: config.API_MAX_CLICKS_PER_REQUEST,
      maxBatchIds: config.API_MAX_BATCH_IDS,
      writeRateLimitPerMinute: config.API_WRITE_RATE_LIMIT_PER_MINUTE,
      maxStreamsPerCaller: config.API_MAX_STREAMS_PER_CALLER,
    },
    dashboardRefreshMs: config.API_DASHBOARD_REFRESH_MS,
    dashboardDir: options.dashboardDir ?? DEFAULT_DASHBOARD_DIR,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });

  let closed = false;
  return {
    app,
    config,
    async listen() {
      return app.listen({ host: config.API_HOST, port: config.API_PORT });
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await Promise.allSettled([publisher.close(), pipelineHealth.close(), serving.close()]);
      await Promise.allSettled([pool.end(), redis.quit()]);
    },
  };
}
