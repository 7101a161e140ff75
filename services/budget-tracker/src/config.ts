import {
  ConfigError,
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
  /**
   * How often paced advertisers (pacing even or shaped) are re-evaluated without new clicks: their allowance
   * grows with time, so can_serve and serve_fraction change between clicks. A sweep of every hash, pipelined
   * (one round trip per 500 advertisers and node). 0 = never (pacing then moves on clicks and rollovers only).
   */
  PACING_CHECK_INTERVAL_MS: envVar.integer(0, 3_600_000).default(5_000),
  /**
   * TEST ONLY (benchmarks): budget-clock speed-up. The tracker's budget clock reads
   * BUDGET_CLOCK_ORIGIN_MS + (wall clock - BUDGET_CLOCK_ANCHOR_MS) x BUDGET_CLOCK_SCALE, so with 144 a day lasts
   * 10 minutes; BUDGET_CLOCK_STOP_MS stops it there (a benchmark reads the state of a period that has ended in
   * no other way). Refused unless BUDGET_CLOCK_TEST_ONLY=true: a production tracker must never run on it.
   */
  BUDGET_CLOCK_SCALE: z.coerce.number().min(1).max(100_000).default(1),
  BUDGET_CLOCK_ORIGIN_MS: envVar.integer(0, 253_402_300_799_999).optional(),
  BUDGET_CLOCK_ANCHOR_MS: envVar.integer(0, 253_402_300_799_999).optional(),
  BUDGET_CLOCK_STOP_MS: envVar.integer(0, 253_402_300_799_999).optional(),
  BUDGET_CLOCK_TEST_ONLY: envVar.boolean().default(false),
  /** How often the tracker checks that Redis still has its state (sentinel) and the epoch it knows. 0 = never. */
  STATE_CHECK_INTERVAL_MS: envVar.integer(0, 3_600_000).default(5_000),
  /**
   * How often reservations whose TTL passed by the applied event-time watermark are released (one Kafka
   * log-end read and a SCAN of the reservation keys). 0 = never.
   */
  RESERVATION_SWEEP_INTERVAL_MS: envVar.integer(0, 3_600_000).default(1_000),
  /** How often every hash's forecast fields are recomputed (a SCAN of the advertiser hashes). 0 = never. */
  FORECAST_REFRESH_INTERVAL_MS: envVar.integer(0, 3_600_000).default(10_000),
  /**
   * How often `shaped` advertisers' traffic shapes (`_shape`) are learnt again from Gold's last 7 days (a SCAN of
   * the advertiser hashes, one Postgres query, one pipelined write; needs DATABASE_URL). 0 = never (shaped = even).
   */
  PACING_SHAPE_REFRESH_INTERVAL_MS: envVar.integer(0, 86_400_000).default(600_000),
  /**
   * How long one SCAN pass over the advertiser and reservation keys is shared by the pacing/rollover sweep, the
   * forecast and shape refreshes and the reservation sweep (each used to scan the whole keyspace on its own).
   * A key created since the pass is seen by the next one, at most this much later. Unset = the shortest of
   * those jobs' intervals (no job works from a listing older than one turn of the most frequent job).
   */
  KEYSPACE_SCAN_REUSE_MS: envVar.integer(0, 3_600_000).optional(),
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
  /**
   * Most bytes one fetch returns per partition: larger batches pack more clicks of an advertiser into one
   * apply_slice call (fewer Redis commands per event); smaller ones keep a batch's latency short under load.
   */
  TRACKER_MAX_BYTES_PER_PARTITION: envVar.integer(1_024, 64 * 1_048_576).default(4 * 1_048_576),
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

/** A budget clock that runs `scale` times faster than the wall clock, reading `originMs` at `anchorMs`. */
export interface ScaledClock {
  readonly scale: number;
  readonly originMs: number;
  readonly anchorMs: number;
  /** The clock stands still from this reading on; undefined: it never stops. */
  readonly stopMs?: number | undefined;
}

/** The scaled clock's reading at wall-clock time `wallMs` (integer epoch ms). */
export function scaledClockAt(clock: ScaledClock, wallMs: number): number {
  const reading = clock.originMs + Math.floor((wallMs - clock.anchorMs) * clock.scale);
  return clock.stopMs === undefined ? reading : Math.min(clock.stopMs, reading);
}

/** The BUDGET_CLOCK_* settings as a clock; null when the budget clock is the wall clock (scale 1, no origin). */
export function budgetClockOf(env: TrackerEnv): ScaledClock | null {
  if (!scaledClockAsked(env)) return null;
  const anchorMs = env.BUDGET_CLOCK_ANCHOR_MS ?? Date.now();
  return {
    scale: env.BUDGET_CLOCK_SCALE,
    originMs: env.BUDGET_CLOCK_ORIGIN_MS ?? anchorMs,
    anchorMs,
    stopMs: env.BUDGET_CLOCK_STOP_MS,
  };
}

function scaledClockAsked(env: TrackerEnv): boolean {
  return (
    env.BUDGET_CLOCK_SCALE !== 1 ||
    env.BUDGET_CLOCK_ORIGIN_MS !== undefined ||
    env.BUDGET_CLOCK_STOP_MS !== undefined
  );
}

/** Loads and checks every setting; throws ConfigError naming each bad variable (never its value). */
export function loadTrackerConfig(env: NodeJS.ProcessEnv = process.env): TrackerConfig {
  const parsed = loadEnv(trackerEnvSchema, env);
  if (scaledClockAsked(parsed) && !parsed.BUDGET_CLOCK_TEST_ONLY) {
    throw new ConfigError("invalid_env", [
      {
        variable: "BUDGET_CLOCK_SCALE",
        message:
          "a scaled or shifted budget clock is for tests and benchmarks only: set BUDGET_CLOCK_TEST_ONLY=true to use it",
      },
    ]);
  }
  return {
    env: parsed,
    kafka: kafkaConnectionFromConfig(parsed, { clientId: "adpipe-budget-tracker" }),
    redis: redisConnection(parsed),
    parseOptions: parseLimitsFromEnv(parsed),
  };
}

/**
 * How long the periodic jobs share one SCAN pass (SpendStore scanReuseMs): KEYSPACE_SCAN_REUSE_MS, else the
 * shortest interval of the jobs that list keys (0 = off intervals ignored; all off: no reuse).
 */
export function keyspaceScanReuseMs(
  env: Pick<
    TrackerEnv,
    | "KEYSPACE_SCAN_REUSE_MS"
    | "PACING_CHECK_INTERVAL_MS"
    | "FORECAST_REFRESH_INTERVAL_MS"
    | "RESERVATION_SWEEP_INTERVAL_MS"
    | "PACING_SHAPE_REFRESH_INTERVAL_MS"
  >,
): number {
  if (env.KEYSPACE_SCAN_REUSE_MS !== undefined) return env.KEYSPACE_SCAN_REUSE_MS;
  const intervals = [
    env.PACING_CHECK_INTERVAL_MS,
    env.FORECAST_REFRESH_INTERVAL_MS,
    env.RESERVATION_SWEEP_INTERVAL_MS,
    env.PACING_SHAPE_REFRESH_INTERVAL_MS,
  ].filter((ms) => ms > 0);
  return intervals.length === 0 ? 0 : Math.min(...intervals);
}
