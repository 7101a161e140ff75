import {
  budgetPeriodEnvSchema,
  envVar,
  type KafkaConnection,
  kafkaConnectionFromConfig,
  kafkaEnvSchema,
  loadEnv,
  opsEnvSchema,
  postgresEnvSchema,
  type RedisConnection,
  redisConnection,
  redisEnvSchema,
} from "@adpipe/config";
import { alertThresholdsSchema, DEFAULT_ALERT_THRESHOLDS_PCT } from "@adpipe/core";
import { DEFAULT_KEY_PREFIX } from "@adpipe/serving-client";
import { z } from "zod";

/** The alerts topic unless ALERT_TOPIC names another. */
export const DEFAULT_ALERT_TOPIC = "ad-budget-alerts";
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

/** Every environment variable the alerter reads (docs/alerts.md lists them with their defaults). */
export const alerterEnvSchema = z
  .object({
    ...postgresEnvSchema.shape,
    ...kafkaEnvSchema.shape,
    ...budgetPeriodEnvSchema.shape,
    ...redisEnvSchema.shape,
    /**
     * Read the tracker's Redis hashes for ahead_of_pace alerts (pacing state lives in Redis only). false: no
     * ahead_of_pace alerts, and the alerter never connects to Redis.
     */
    ALERT_PACING_REDIS: envVar.boolean().default(false),
    /** The tracker's REDIS_KEY_PREFIX (where its advertiser hashes are). */
    REDIS_KEY_PREFIX: z
      .string()
      .max(64)
      .regex(/^[A-Za-z0-9:_.-]*$/, "expected letters, digits and : _ . -")
      .default(DEFAULT_KEY_PREFIX),
    /** Topic the alert events are published to. */
    ALERT_TOPIC: z
      .string()
      .regex(TOPIC_NAME, "expected 1-249 characters of a-z A-Z 0-9 . _ -")
      .default(DEFAULT_ALERT_TOPIC),
    /** Publish alerts to ALERT_TOPIC (false: webhooks only). */
    ALERT_KAFKA: envVar.boolean().default(true),
    /** Comma-separated http(s) URLs every alert is POSTed to. */
    ALERT_WEBHOOK_URLS: envVar
      .list()
      .pipe(z.array(envVar.url(["http:", "https:"])).max(20, "at most 20 webhooks"))
      .optional(),
    /** HMAC-SHA256 signing secret of the webhooks (at least 16 characters); required with ALERT_WEBHOOK_URLS. */
    ALERT_WEBHOOK_SECRET: z.string().min(16, "expected at least 16 characters").optional(),
    ALERT_WEBHOOK_TIMEOUT_MS: envVar.integer(100, 60_000).default(10_000),
    /** Default thresholds, percent of the budget (an advertiser's own, set through the API, replace them). */
    ALERT_THRESHOLDS_PCT: envVar
      .list()
      .pipe(z.array(z.string().regex(/^\d+$/, "expected whole percentages").transform(Number)))
      .pipe(alertThresholdsSchema)
      .default([...DEFAULT_ALERT_THRESHOLDS_PCT]),
    /** Pause between evaluation passes. */
    ALERT_EVALUATE_INTERVAL_MS: envVar.integer(100, 3_600_000).default(10_000),
    /** Pause between outbox passes when nothing was due. */
    ALERT_DISPATCH_INTERVAL_MS: envVar.integer(50, 60_000).default(1_000),
    /** Periods before the current one still evaluated (late clicks). */
    ALERT_LOOKBACK_PERIODS: envVar.integer(0, 31).default(1),
    /** Attempts per delivery before it is dead. */
    ALERT_MAX_ATTEMPTS: envVar.integer(1, 100).default(12),
    ALERT_RETRY_INITIAL_MS: envVar.integer(10, 3_600_000).default(1_000),
    ALERT_RETRY_MAX_MS: envVar.integer(10, 86_400_000).default(900_000),
    /** Apply pending warehouse migrations at start (the alerts schema is migration 0017). */
    MIGRATE_ON_START: envVar.boolean().default(true),
    PG_POOL_MAX: envVar.integer(2, 50).default(4),
    ...opsEnvSchema(9104).shape,
  })
  .superRefine((env, ctx) => {
    if (env.ALERT_WEBHOOK_URLS !== undefined && env.ALERT_WEBHOOK_SECRET === undefined)
      ctx.addIssue({
        code: "custom",
        path: ["ALERT_WEBHOOK_SECRET"],
        message: "required when ALERT_WEBHOOK_URLS is set (receivers verify the signature with it)",
      });
    if (env.ALERT_RETRY_MAX_MS < env.ALERT_RETRY_INITIAL_MS)
      ctx.addIssue({
        code: "custom",
        path: ["ALERT_RETRY_MAX_MS"],
        message: "must be at least ALERT_RETRY_INITIAL_MS",
      });
  });
export type AlerterEnv = z.output<typeof alerterEnvSchema>;

export type AlerterConfig = AlerterEnv & {
  /** The Kafka connection (null with ALERT_KAFKA=false: no Kafka delivery). */
  readonly kafka: KafkaConnection | null;
  /** The tracker's Redis (null with ALERT_PACING_REDIS=false: no ahead_of_pace alerts). */
  readonly redis: RedisConnection | null;
};

/** Loads and checks every setting; throws ConfigError naming each bad variable (never its value). */
export function loadAlerterConfig(env: NodeJS.ProcessEnv = process.env): AlerterConfig {
  const parsed = loadEnv(alerterEnvSchema, env);
  return {
    ...parsed,
    kafka: parsed.ALERT_KAFKA ? kafkaConnectionFromConfig(parsed, { clientId: "adpipe-alerter" }) : null,
    redis: parsed.ALERT_PACING_REDIS ? redisConnection(parsed) : null,
  };
}
