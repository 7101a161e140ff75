import {
  envVar,
  eventRulesEnvSchema,
  type KafkaConnection,
  kafkaConnectionFromConfig,
  kafkaEnvSchema,
  loadEnv,
  opsEnvSchema,
  parseLimitsFromEnv,
  type RedisConnection,
  redisConnection,
  redisEnvSchema,
  topicResetEnvSchema,
} from "@adpipe/config";
import type { ParseOptions } from "@adpipe/core";
import { storeSyncEnvSchema } from "@adpipe/store-sync";
import { z } from "zod";

export const REBUILD_SOURCES = ["warehouse", "replay"] as const;
export type RebuildSource = (typeof REBUILD_SOURCES)[number];

/** Every environment variable the budget-tracker reads. */
export const trackerEnvSchema = z.object({
  ...kafkaEnvSchema.shape,
  ...redisEnvSchema.shape,
  ...storeSyncEnvSchema.shape,
  // RESET_POLICY, TOPIC_CHECK_INTERVAL_MS: what to do when the topic was deleted and recreated under the tracker.
  ...topicResetEnvSchema.shape,
  /**
   * Postgres, only for rebuilding Redis and for reconciliation: the tracker applies clicks with Postgres down.
   * Unset: no reconciliation, and a rebuild needs REBUILD_SOURCE=replay.
   */
  DATABASE_URL: envVar.url(["postgres:", "postgresql:"]).optional(),
  /** The tracker's own consumer group (independent of the ingestor's). */
  TRACKER_GROUP_ID: z.string().min(1).max(255).default("adpipe-budget-tracker"),
  /** How often the tracker checks whether the budget period changed (and then sweeps every hash). 0 = never. */
  ROLLOVER_CHECK_INTERVAL_MS: envVar.integer(0, 3_600_000).default(1_000),
  /** How often the tracker checks that Redis still has its state (sentinel) and the epoch it knows. 0 = never. */
  STATE_CHECK_INTERVAL_MS: envVar.integer(0, 3_600_000).default(5_000),
  /**
   * How often reservations whose TTL passed by the applied event-time watermark are released (one Kafka
   * log-end read and a SCAN of the reservation keys). 0 = never.
   */
  RESERVATION_SWEEP_INTERVAL_MS: envVar.integer(0, 3_600_000).default(1_000),
  /** How often every hash's forecast fields are recomputed (a SCAN of the advertiser hashes). 0 = never. */
  FORECAST_REFRESH_INTERVAL_MS: envVar.integer(0, 3_600_000).default(10_000),
  /** How often Redis period spend is compared with Postgres (needs DATABASE_URL). 0 = never. */
  RECONCILE_INTERVAL_MS: envVar.integer(0, 86_400_000).default(60_000),
  /**
   * Where a rebuild takes the state from when Redis lost it: `warehouse` (Postgres Silver, then resume from
   * the ingestor's offsets) or `replay` (read the topic again from its earliest offsets; exact only while
   * the topic retains the whole current budget period).
   */
  REBUILD_SOURCE: z.enum(REBUILD_SOURCES).default("warehouse"),
  /** Longest a fetch waits for data when the topic is idle (lower = quicker stop, more idle fetches). */
  TRACKER_MAX_WAIT_MS: envVar.integer(10, 10_000).default(500),
  /**
   * Consumer group session timeout: how long a crashed member holds its partitions before the group
   * reassigns them (the broker's group.min.session.timeout.ms is the floor). Heartbeats every tenth of it.
   */
  TRACKER_SESSION_TIMEOUT_MS: envVar.integer(6_000, 300_000).default(30_000),
  /** Partitions whose batches are applied at the same time (Redis round trips overlap). */
  TRACKER_PARTITIONS_CONCURRENTLY: envVar.integer(1, 64).default(4),
  /** Publish can_serve changes on `<prefix>serving-changes`. */
  PUBLISH_CHANGES: envVar.boolean().default(true),
  ...opsEnvSchema(9102).shape,
  /** Rules passed to @adpipe/core: the same schema the ingestor reads. */
  ...eventRulesEnvSchema.shape,
});
export type TrackerEnv = z.output<typeof trackerEnvSchema>;

export interface TrackerConfig {
  readonly env: TrackerEnv;
  readonly kafka: KafkaConnection;
  readonly redis: RedisConnection;
  readonly parseOptions: Omit<ParseOptions, "referenceTimeMs">;
}

/** Loads and checks every setting; throws ConfigError naming each bad variable (never its value). */
export function loadTrackerConfig(env: NodeJS.ProcessEnv = process.env): TrackerConfig {
  const parsed = loadEnv(trackerEnvSchema, env);
  return {
    env: parsed,
    kafka: kafkaConnectionFromConfig(parsed, { clientId: "adpipe-budget-tracker" }),
    redis: redisConnection(parsed),
    parseOptions: parseLimitsFromEnv(parsed),
  };
}
