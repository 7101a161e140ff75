import {
  budgetPeriodEnvSchema,
  envVar,
  type KafkaConnection,
  kafkaConnectionFromConfig,
  kafkaEnvSchema,
  loadEnv,
  logEnvSchema,
  postgresEnvSchema,
  type RedisConnection,
  redisConnection,
  redisEnvSchema,
} from "@adpipe/config";
import { DEFAULT_KEY_PREFIX } from "@adpipe/serving-client";
import { z } from "zod";

/**
 * The API's own settings (environment variables). Connection settings for Postgres, Redis and
 * Kafka come from the shared schemas of @adpipe/config and are merged in `apiEnvSchema`.
 */
export const apiSettingsSchema = z.object({
  API_HOST: z.string().default("0.0.0.0"),
  API_PORT: envVar.integer(0, 65_535).default(8080),
  /** Comma list of bearer tokens allowed to write; `name:secret` entries name the caller in the audit. */
  API_WRITE_TOKENS: z.string().optional(),
  /** Comma list of tokens for reads (lookups, reports, dashboard data); write tokens read too. */
  API_READ_TOKENS: z.string().optional(),
  /**
   * Opens every read route to callers without a token. Only behind a private network: by default reads need a
   * read token, or a write token when no read token is configured.
   */
  API_PUBLIC_READS: envVar.boolean().default(false),
  /** Open serving-change streams per caller (token identity, or client address when reads are public). */
  API_MAX_STREAMS_PER_CALLER: envVar.integer(1, 1_000).default(10),
  /** Answer for an advertiser the tracker has never seen. Default false: never spend unbudgeted money. */
  SERVE_WHEN_UNKNOWN: envVar.boolean().default(false),
  /** The budget period every advertiser's budget covers (the pipelines' BUDGET_PERIOD). */
  BUDGET_PERIOD: budgetPeriodEnvSchema.shape.BUDGET_PERIOD,
  /**
   * Keep serving states in process memory for this long (0 = off, every lookup reads Redis). can_serve
   * flips invalidate an entry at once through the changes channel; spend fields may lag by up to the TTL.
   */
  API_SERVING_CACHE_TTL_MS: envVar.integer(0, 60_000).default(0),
  API_SERVING_CACHE_MAX_ENTRIES: envVar.integer(1, 10_000_000).default(100_000),
  /** Largest accepted request body (the click batch endpoint); other routes use 16 KiB. */
  API_BODY_LIMIT_BYTES: envVar.integer(1_024, 16 * 1_024 * 1_024).default(1_048_576),
  API_MAX_CLICKS_PER_REQUEST: envVar.integer(1, 10_000).default(1_000),
  API_MAX_BATCH_IDS: envVar.integer(1, 10_000).default(1_000),
  /** Write requests per minute per caller (token or IP); 0 disables the limit. */
  API_WRITE_RATE_LIMIT_PER_MINUTE: envVar.integer(0, 1_000_000).default(600),
  /** Postgres pool size and per-statement timeout for reports and the audit. */
  API_PG_POOL_MAX: envVar.integer(1, 100).default(5),
  API_PG_STATEMENT_TIMEOUT_MS: envVar.integer(100, 600_000).default(5_000),
  /** Consumer groups whose lag the dashboard shows (the ingestor's and the tracker's). */
  API_LAG_GROUPS: envVar.list().optional(),
  /** How often the dashboard refreshes itself. */
  API_DASHBOARD_REFRESH_MS: envVar.integer(500, 600_000).default(5_000),
  ...logEnvSchema.shape,
});
export type ApiSettings = z.output<typeof apiSettingsSchema>;

/** Every variable the API reads: its own settings plus the shared Postgres, Redis and Kafka ones. */
export const apiEnvSchema = apiSettingsSchema.extend({
  ...postgresEnvSchema.shape,
  ...redisEnvSchema.shape,
  ...kafkaEnvSchema.shape,
  /** Key prefix the budget-tracker writes under (same variable as the tracker's). */
  REDIS_KEY_PREFIX: z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9:_.-]*$/, "expected letters, digits and : _ . -")
    .default(DEFAULT_KEY_PREFIX),
});
export type ApiConfig = z.output<typeof apiEnvSchema> & {
  /** The Kafka connection, checked with the rest of the configuration (a bad one exits 2 before start). */
  readonly kafka: KafkaConnection;
  /** One Redis server or a Redis Cluster (REDIS_URL / REDIS_CLUSTER_NODES). */
  readonly redis: RedisConnection;
};

export function loadApiConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  const parsed = loadEnv(apiEnvSchema, env);
  return {
    ...parsed,
    kafka: kafkaConnectionFromConfig(parsed, { clientId: "adpipe-api" }),
    redis: redisConnection(parsed),
  };
}
