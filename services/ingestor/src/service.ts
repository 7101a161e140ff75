import { kafkaConnectionSecrets, redact, redactUrl } from "@adpipe/config";
import { createKafka } from "@adpipe/kafka";
import { createLogger, createMetricsRegistry, type Logger, ResourceStack } from "@adpipe/telemetry";
import { applyRetention, createPool, migrate } from "@adpipe/warehouse";
import type { Registry } from "prom-client";
import type { IngestorConfig } from "./config.js";
import { type CommittedBatch, Ingestor } from "./ingestor.js";
import { IngestorMetrics } from "./metrics.js";

export interface IngestorService {
  readonly ingestor: Ingestor;
  readonly logger: Logger;
  readonly registry: Registry;
  /** Port of /healthz /readyz /metrics (useful when OPS_PORT=0). */
  readonly opsPort: number;
  /** Finishes the batch in flight, leaves the group, closes Postgres and the ops server. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  onBatchCommitted?: (batch: CommittedBatch) => void;
}

/** Builds and starts the ingestor from its configuration: migrations, ops endpoints, consumer group, retention. */
export async function startIngestorService(
  config: IngestorConfig,
  options: StartOptions = {},
): Promise<IngestorService> {
  const env = config.env;
  const secrets = [env.DATABASE_URL, ...kafkaConnectionSecrets(config.kafka)];
  const logger = options.logger ?? createLogger({ service: "ingestor", level: env.LOG_LEVEL, secrets });
  const registry = createMetricsRegistry("ingestor");
  const metrics = new IngestorMetrics(registry);
  const concurrency = env.INGESTOR_PARTITIONS_CONCURRENTLY;
  const resources = new ResourceStack(logger);
  const pool = createPool({
    connectionString: env.DATABASE_URL,
    max: env.PG_POOL_MAX ?? concurrency + 2,
    applicationName: `adpipe-ingestor:${env.INGESTOR_GROUP_ID}`,
  });
  resources.defer("postgres", () => pool.end());
  logger.info(
    { database: redactUrl(env.DATABASE_URL), topic: config.kafka.topic, groupId: env.INGESTOR_GROUP_ID },
    "starting ingestor",
  );

  try {
    if (env.MIGRATE_ON_START) await migrate(pool, { logger });
    // The topic is provisioned by operators (Event Hubs cannot create it through Kafka): a missing topic fails start.
    const kafka = createKafka(config.kafka, { logger });

    const ingestor = new Ingestor({
      kafka,
      topic: config.kafka.topic,
      groupId: env.INGESTOR_GROUP_ID,
      pool,
      logger,
      metrics,
      write: {
        ...config.rules,
        maxStoredPayloadBytes: env.INGESTOR_MAX_STORED_PAYLOAD_BYTES,
      },
      maxBatchRecords: env.INGESTOR_MAX_BATCH_RECORDS,
      partitionsConsumedConcurrently: concurrency,
      writesConcurrently: env.INGESTOR_WRITES_CONCURRENTLY,
      fetchAhead: env.INGESTOR_FETCH_AHEAD,
      maxWaitTimeInMs: env.INGESTOR_MAX_WAIT_MS,
      sessionTimeoutMs: env.INGESTOR_SESSION_TIMEOUT_MS,
      maxBytesPerPartition: env.INGESTOR_MAX_BYTES_PER_PARTITION,
      retry: { initialDelayMs: env.INGESTOR_RETRY_INITIAL_MS, maxDelayMs: env.INGESTOR_RETRY_MAX_MS },
      resetPolicy: env.RESET_POLICY,
      topicCheckMs: env.TOPIC_CHECK_INTERVAL_MS,
      ...(options.onBatchCommitted === undefined ? {} : { onBatchCommitted: options.onBatchCommitted }),
    });

    const ops = await resources.opsServer({
      port: env.OPS_PORT,
      host: env.OPS_HOST,
      registry,
      logger,
      checks: {
        postgres: async () => {
          await pool.query("SELECT 1");
        },
        consumer: async () => {
          if (ingestor.state !== "running") throw new Error(`consumer is ${ingestor.state}`);
        },
        topic: async () => ingestor.checkTopic(),
      },
    });

    await ingestor.start();
    resources.defer("consumer", () => ingestor.stop());

    if (env.RETENTION_INTERVAL_MS > 0 && env.WAREHOUSE_RETENTION_DAYS > 0) {
      const timer = setInterval(() => {
        applyRetention(pool, {
          nowMs: Date.now(),
          retentionDays: env.WAREHOUSE_RETENTION_DAYS,
          dedupHorizonDays: env.CLICK_DEDUP_HORIZON_DAYS,
        })
          .then((result) => {
            if (result.droppedPartitions.length > 0 || result.prunedClickIds > 0)
              logger.info(result, "retention applied");
          })
          .catch((error: unknown) => logger.error({ err: error }, "retention failed"));
      }, env.RETENTION_INTERVAL_MS);
      timer.unref();
      resources.defer("retention timer", () => clearInterval(timer));
    }

    return {
      ingestor,
      logger,
      registry,
      opsPort: ops.port,
      stop: resources.stopper("ingestor"),
    };
  } catch (error) {
    return resources.failedStart(
      "ingestor",
      error,
      error instanceof Error ? redact(error.message, secrets) : String(error),
    );
  }
}
