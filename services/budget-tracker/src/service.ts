import {
  describeRedisConnection,
  kafkaConnectionSecrets,
  redact,
  redactUrl,
  redisConnectionSecrets,
} from "@adpipe/config";
import { toleranceBpOfPct } from "@adpipe/core";
import { createKafka } from "@adpipe/kafka";
import { createRedisClient } from "@adpipe/serving-client";
import { SpendStore } from "@adpipe/spend-store";
import { createLogger, createMetricsRegistry, type Logger, ResourceStack } from "@adpipe/telemetry";
import { createPool } from "@adpipe/warehouse";
import type { Pool } from "pg";
import type { Registry } from "prom-client";
import { budgetClockOf, keyspaceScanReuseMs, scaledClockAt, type TrackerConfig } from "./config.js";
import { TrackerMetrics } from "./metrics.js";
import { type AppliedBatch, BudgetTracker } from "./tracker.js";

export interface TrackerService {
  readonly tracker: BudgetTracker;
  readonly store: SpendStore;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Port of /healthz /readyz /metrics (useful when OPS_PORT=0). */
  readonly opsPort: number;
  /** Finishes the batch in flight, leaves the group, closes Redis, Postgres and the ops server. Idempotent. */
  stop(): Promise<void>;
}

export interface StartTrackerOptions {
  logger?: Logger;
  /** The clock of budget periods (rollover) and updated_at; tests inject one. Default Date.now. */
  clock?: () => number;
  onBatchApplied?: (batch: AppliedBatch) => void;
}

/** Builds and starts the budget-tracker: ops endpoints first (so /healthz answers during a rebuild), then the consumer. */
export async function startTrackerService(
  config: TrackerConfig,
  options: StartTrackerOptions = {},
): Promise<TrackerService> {
  const env = config.env;
  const secrets = [
    env.DATABASE_URL,
    env.REDIS_URL,
    ...redisConnectionSecrets(config.redis),
    ...kafkaConnectionSecrets(config.kafka),
  ].filter((s): s is string => s !== undefined);
  const logger = options.logger ?? createLogger({ service: "budget-tracker", level: env.LOG_LEVEL, secrets });
  const registry = createMetricsRegistry("budget-tracker");
  const metrics = new TrackerMetrics(registry);
  logger.info(
    {
      redis: describeRedisConnection(config.redis),
      database: env.DATABASE_URL === undefined ? null : redactUrl(env.DATABASE_URL),
      topic: config.kafka.topic,
      groupId: env.TRACKER_GROUP_ID,
      prefix: env.REDIS_KEY_PREFIX,
      budgetPeriod: env.BUDGET_PERIOD,
    },
    "starting budget-tracker",
  );

  const resources = new ResourceStack(logger);
  try {
    const redis = await resources.acquire(
      "redis",
      async () => {
        const client = createRedisClient(config.redis, {
          connectionName: "adpipe-budget-tracker",
          lazyConnect: true,
        });
        client.on("error", (error: Error) =>
          logger.warn({ err: redact(error.message, secrets) }, "redis connection error"),
        );
        await client.connect();
        return client;
      },
      (client) => client.quit(),
    );
    // Postgres is only for rebuild and reconciliation: created lazily, never a readiness condition.
    const pool: Pool | null =
      env.DATABASE_URL === undefined
        ? null
        : createPool({
            connectionString: env.DATABASE_URL,
            max: 2,
            applicationName: "adpipe-budget-tracker",
          });
    if (pool !== null) resources.defer("postgres", () => pool.end());

    const scaledClock = budgetClockOf(env);
    if (scaledClock !== null) logger.warn({ scaledClock }, "TEST ONLY: the budget clock is scaled");
    const clock =
      options.clock ?? (scaledClock === null ? undefined : () => scaledClockAt(scaledClock, Date.now()));
    const store = new SpendStore({
      redis,
      topic: config.kafka.topic,
      prefix: env.REDIS_KEY_PREFIX,
      budgetPeriod: env.BUDGET_PERIOD,
      timeZone: env.BUDGET_TIME_ZONE,
      dedupHorizonMs: env.DEDUP_HORIZON_MS,
      reservationHoldMs: env.RESERVATION_HOLD_MS,
      publishChanges: env.PUBLISH_CHANGES,
      pacingToleranceBp: toleranceBpOfPct(env.PACING_TOLERANCE_PCT),
      scanReuseMs: keyspaceScanReuseMs(env),
      ...(clock === undefined ? {} : { clock }),
    });
    const tracker = new BudgetTracker({
      kafka: createKafka(config.kafka, { logger }),
      topic: config.kafka.topic,
      groupId: env.TRACKER_GROUP_ID,
      store,
      parseOptions: config.parseOptions,
      logger,
      metrics,
      pool,
      warehousePipeline: env.WAREHOUSE_PIPELINE,
      rebuildSource: env.REBUILD_SOURCE,
      intervals: {
        rolloverCheckMs: env.ROLLOVER_CHECK_INTERVAL_MS,
        pacingCheckMs: env.PACING_CHECK_INTERVAL_MS,
        stateCheckMs: env.STATE_CHECK_INTERVAL_MS,
        reconcileMs: env.RECONCILE_INTERVAL_MS,
        reservationSweepMs: env.RESERVATION_SWEEP_INTERVAL_MS,
        forecastRefreshMs: env.FORECAST_REFRESH_INTERVAL_MS,
        shapeRefreshMs: env.PACING_SHAPE_REFRESH_INTERVAL_MS,
      },
      maxWaitTimeInMs: env.TRACKER_MAX_WAIT_MS,
      maxBytesPerPartition: env.TRACKER_MAX_BYTES_PER_PARTITION,
      sessionTimeoutMs: env.TRACKER_SESSION_TIMEOUT_MS,
      partitionsConcurrently: env.TRACKER_PARTITIONS_CONCURRENTLY,
      resetPolicy: env.RESET_POLICY,
      topicCheckMs: env.TOPIC_CHECK_INTERVAL_MS,
      ...(options.onBatchApplied === undefined ? {} : { onBatchApplied: options.onBatchApplied }),
    });

    const ops = await resources.opsServer({
      port: env.OPS_PORT,
      host: env.OPS_HOST,
      registry,
      logger,
      checks: {
        redis: async () => {
          await redis.ping();
        },
        tracker: async () => {
          if (!tracker.ready)
            throw new Error("not consuming (starting, rebuilding the Redis state or stopped)");
        },
        topic: async () => tracker.checkTopic(),
      },
    });

    // Registered before start: stop() also cleans up after a start that failed half-way (consumer created).
    resources.defer("tracker", () => tracker.stop());
    await tracker.start();

    return {
      tracker,
      store,
      logger,
      registry,
      opsPort: ops.port,
      stop: resources.stopper("budget-tracker"),
    };
  } catch (error) {
    return resources.failedStart(
      "budget-tracker",
      error,
      error instanceof Error ? redact(error.message, secrets) : String(error),
    );
  }
}
