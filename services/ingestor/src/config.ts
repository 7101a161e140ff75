import {
  ConfigError,
  envVar,
  type KafkaConnection,
  kafkaConnectionFromConfig,
  kafkaEnvSchema,
  loadEnv,
  opsEnvSchema,
  postgresEnvSchema,
  topicResetEnvSchema,
} from "@adpipe/config";
import {
  DEFAULT_PIPELINE,
  type WarehouseRules,
  warehouseRulesEnvSchema,
  warehouseRulesFromEnv,
} from "@adpipe/warehouse";
import { z } from "zod";

/** The ingestor's settings: every environment variable it reads (Kafka/Event Hubs and Postgres shared ones included). */
export const ingestorEnvSchema = z.object({
  ...kafkaEnvSchema.shape,
  ...postgresEnvSchema.shape,
  // BUDGET_PERIOD, BUDGET_TIME_ZONE, EVENT_* parse limits, WAREHOUSE_RETENTION_DAYS, CLICK_DEDUP_HORIZON_DAYS.
  ...warehouseRulesEnvSchema.shape,
  // RESET_POLICY, TOPIC_CHECK_INTERVAL_MS: what to do when the topic was deleted and recreated under the ingestor.
  ...topicResetEnvSchema.shape,
  /** Consumer group id; also the name under which offsets are stored in ingest.consumer_offsets. */
  INGESTOR_GROUP_ID: z.string().min(1).max(255).default(DEFAULT_PIPELINE),
  /** Records per Postgres transaction, all its partitions together (a larger Kafka batch is written in several). */
  INGESTOR_MAX_BATCH_RECORDS: envVar.integer(1, 100_000).default(5_000),
  /**
   * Partition batches of a fetch handled at once by one replica; those waiting for a writer are written together
   * in one transaction (group commit). At least the partitions of a fetch, so a fetch can be one transaction.
   */
  INGESTOR_PARTITIONS_CONCURRENTLY: envVar.integer(1, 64).default(12),
  /** Transactions in flight at once per replica (each holds one Postgres connection). */
  INGESTOR_WRITES_CONCURRENTLY: envVar.integer(1, 16).default(2),
  /**
   * Fetch and parse a partition's next batch while its last one commits (true), instead of taking turns. Kafka's
   * committed offset (lag monitoring only) may then lead Postgres by one batch per partition.
   */
  INGESTOR_FETCH_AHEAD: envVar.boolean().default(true),
  /**
   * Consumer group session timeout: how long a crashed (SIGKILLed) replica holds its partitions before the
   * group reassigns them; the restarted process waits that long too. Heartbeats every tenth of it.
   * Lower it to shorten the stall after a crash (the default holds the path for 30 s).
   */
  INGESTOR_SESSION_TIMEOUT_MS: envVar.integer(6_000, 300_000).default(30_000),
  /** Longest a fetch waits for data: the floor of Gold freshness at low traffic. */
  INGESTOR_MAX_WAIT_MS: envVar.integer(10, 10_000).default(100),
  /** Bytes fetched per partition per request. */
  INGESTOR_MAX_BYTES_PER_PARTITION: envVar.integer(1_024, 64 * 1_048_576).default(4 * 1_048_576),
  /** Backoff of a failed batch (Postgres down, deadlock): exponential from initial to max. */
  INGESTOR_RETRY_INITIAL_MS: envVar.integer(10, 60_000).default(500),
  INGESTOR_RETRY_MAX_MS: envVar.integer(100, 600_000).default(30_000),
  /** Bronze keeps at most this many bytes of a record's payload. */
  INGESTOR_MAX_STORED_PAYLOAD_BYTES: envVar.integer(1_024, 16 * 1_048_576).default(1_048_576),
  /** How often the ingestor applies retention (0 = never; run `adpipe` or a cron job instead). */
  RETENTION_INTERVAL_MS: envVar.integer(0, 7 * 86_400_000).default(3_600_000),
  /** Apply pending migrations at start (under an advisory lock, safe with several replicas). */
  MIGRATE_ON_START: envVar.boolean().default(true),
  PG_POOL_MAX: envVar.integer(1, 100).optional(),
  ...opsEnvSchema(9101).shape,
});
export type IngestorEnv = z.output<typeof ingestorEnvSchema>;

export interface IngestorConfig {
  readonly env: IngestorEnv;
  readonly kafka: KafkaConnection;
  readonly rules: WarehouseRules;
}

/** Loads and checks every setting; throws ConfigError naming each bad variable (never its value). */
export function loadIngestorConfig(env: NodeJS.ProcessEnv = process.env): IngestorConfig {
  const parsed = loadEnv(ingestorEnvSchema, env);
  if (parsed.INGESTOR_MAX_STORED_PAYLOAD_BYTES < parsed.EVENT_MAX_PAYLOAD_BYTES) {
    // Reprocessing re-parses Bronze's stored payload: a cut payload must still be judged payload_too_large.
    throw new ConfigError("invalid_env", [
      { variable: "INGESTOR_MAX_STORED_PAYLOAD_BYTES", message: "must be at least EVENT_MAX_PAYLOAD_BYTES" },
    ]);
  }
  return {
    env: parsed,
    kafka: kafkaConnectionFromConfig(parsed, { clientId: "adpipe-ingestor" }),
    rules: warehouseRulesFromEnv(parsed),
  };
}
