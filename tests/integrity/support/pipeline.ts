import { setTimeout as sleep } from "node:timers/promises";
import { redisConnectionFromEnv } from "@adpipe/config";
import type { AdpipeKafka } from "@adpipe/kafka";
import { createRedisClient, isRedisCluster } from "@adpipe/serving-client";
import { SpendStore } from "@adpipe/spend-store";
import { type Cluster, Redis } from "ioredis";
import type { Admin } from "kafkajs";
import { deleteRedisPrefix, testServices, uniqueName, uniqueRedisPrefix } from "../../support/index.js";
import { freePort } from "../../support/ports.js";
import { ChildGroup, type ServiceChild } from "./children.js";
import { createScenarioDatabase, ingestorProgress, type ScenarioDatabase } from "./database.js";
import { createTopic, deleteGroups, dropTopic, suiteKafka } from "./kafka-tools.js";
import type { FaultRecord } from "./results.js";
import { eventually } from "./wait.js";

export type PathName = "ingestor" | "tracker";

export interface PipelineOptions {
  readonly scenario: string;
  readonly partitions: number;
  /** PLAINTEXT brokers the suite produces to and administers (default: the test broker). */
  readonly brokers?: readonly string[];
  /** How the services reach Kafka (default KAFKA_BROKERS = brokers; Event Hubs: the connection string). */
  readonly serviceKafkaEnv?: Record<string, string>;
  /**
   * Redis of the tracker (default: the test server, under a unique prefix): a redis:// URL, or a
   * redis+cluster:// one for a Redis Cluster (the suite then reads it through a cluster client too).
   */
  readonly redisUrl?: string;
  /** A proxy between the services and Postgres. */
  readonly databaseVia?: { host: string; port: number };
  readonly ingestorEnv?: Record<string, string>;
  readonly trackerEnv?: Record<string, string>;
}

export interface Progress {
  readonly ends: Map<number, number>;
  readonly ingestor: Map<number, number> | null;
  readonly tracker: Map<number, number> | null;
}

const total = (offsets: ReadonlyMap<number, number>): number =>
  [...offsets.values()].reduce((sum, n) => sum + n, 0);

/** Records the path still has to consume (null when its store cannot be read right now). */
export function lagOf(progress: Progress, path: PathName): number | null {
  const done = progress[path];
  if (done === null) return null;
  let lag = 0;
  for (const [partition, end] of progress.ends) lag += Math.max(0, end - (done.get(partition) ?? 0));
  return lag;
}

/**
 * One scenario's pipeline: a topic, a database, a Redis key prefix, both consumer groups, and the ingestor
 * and budget-tracker as child processes started from their real entry points. Each instance gets its own
 * ops port; the suite reads progress from where each path keeps it (Postgres offsets, the Redis meta hash).
 */
export class Pipeline {
  readonly children: ChildGroup;
  readonly ingestorGroup: string;
  readonly trackerGroup: string;
  readonly prefix: string;
  readonly store: SpendStore;
  private admin: Admin | null = null;

  private constructor(
    readonly options: PipelineOptions,
    readonly kafka: AdpipeKafka,
    readonly topic: string,
    readonly db: ScenarioDatabase,
    readonly redis: Redis | Cluster,
    readonly redisUrl: string,
  ) {
    this.children = new ChildGroup(options.scenario);
    this.ingestorGroup = uniqueName(`integrity-${options.scenario}-ingestor`);
    this.trackerGroup = uniqueName(`integrity-${options.scenario}-tracker`);
    this.prefix = uniqueRedisPrefix(`integrity-${options.scenario}`);
    this.store = new SpendStore({ redis, topic, prefix: this.prefix });
  }

  static async create(options: PipelineOptions): Promise<Pipeline> {
    const brokers = options.brokers ?? testServices().kafkaBrokers;
    const kafka = suiteKafka(brokers);
    const redisUrl = options.redisUrl ?? testServices().redisUrl;
    const [topic, db] = await Promise.all([
      createTopic(kafka, `integrity-${options.scenario}`, options.partitions),
      createScenarioDatabase(options.scenario),
    ]);
    // The suite's reader: fails fast while Redis is down instead of queueing (the lag sampler skips then).
    const redis = redisUrl.startsWith("redis+cluster://")
      ? createRedisClient(redisConnectionFromEnv({ REDIS_URL: redisUrl }), {
          maxRetriesPerRequest: 1,
          connectTimeout: 2_000,
        })
      : new Redis(redisUrl, {
          maxRetriesPerRequest: 1,
          enableOfflineQueue: true,
          connectTimeout: 2_000,
          retryStrategy: () => 200,
        });
    redis.on("error", () => undefined);
    return new Pipeline(options, kafka, topic, db, redis, redisUrl);
  }

  private kafkaEnv(): Record<string, string> {
    const brokers = this.options.brokers ?? testServices().kafkaBrokers;
    return {
      ...(this.options.serviceKafkaEnv ?? { KAFKA_BROKERS: brokers.join(",") }),
      KAFKA_TOPIC: this.topic,
    };
  }

  async ingestorEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
    return {
      ...this.kafkaEnv(),
      DATABASE_URL: this.db.serviceUrl(this.options.databaseVia),
      INGESTOR_GROUP_ID: this.ingestorGroup,
      // Many small transactions: a kill lands between commits or inside one, not once per 5,000 records.
      INGESTOR_MAX_BATCH_RECORDS: "1000",
      // The broker's minimum: a killed replica's partitions move after 6 s instead of 30 s.
      INGESTOR_SESSION_TIMEOUT_MS: "6000",
      MIGRATE_ON_START: "false",
      RETENTION_INTERVAL_MS: "0",
      OPS_PORT: String(await freePort()),
      OPS_HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      ...this.options.ingestorEnv,
      ...extra,
    };
  }

  async trackerEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
    return {
      ...this.kafkaEnv(),
      REDIS_URL: this.redisUrl,
      REDIS_KEY_PREFIX: this.prefix,
      TRACKER_GROUP_ID: this.trackerGroup,
      DATABASE_URL: this.db.serviceUrl(this.options.databaseVia),
      WAREHOUSE_PIPELINE: this.ingestorGroup,
      TRACKER_SESSION_TIMEOUT_MS: "6000",
      STATE_CHECK_INTERVAL_MS: "1000",
      RECONCILE_INTERVAL_MS: "30000",
      OPS_PORT: String(await freePort()),
      OPS_HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      ...this.options.trackerEnv,
      ...extra,
    };
  }

  async startIngestor(extra?: Record<string, string>): Promise<ServiceChild> {
    return this.children.spawn("ingestor", await this.ingestorEnv(extra));
  }

  async startTracker(extra?: Record<string, string>): Promise<ServiceChild> {
    return this.children.spawn("budget-tracker", await this.trackerEnv(extra));
  }

  instances(path: PathName): ServiceChild[] {
    return this.children.running(path === "ingestor" ? "ingestor" : "budget-tracker");
  }

  groupOf(path: PathName): string {
    return path === "ingestor" ? this.ingestorGroup : this.trackerGroup;
  }

  private async topicEnds(): Promise<Map<number, number>> {
    try {
      if (this.admin === null) {
        const admin = this.kafka.admin();
        await admin.connect();
        this.admin = admin;
      }
      const offsets = await this.admin.fetchTopicOffsets(this.topic);
      return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
    } catch (error) {
      const admin = this.admin;
      this.admin = null;
      await admin?.disconnect().catch(() => undefined);
      throw error;
    }
  }

  async ingestorOffsets(): Promise<Map<number, number> | null> {
    return ingestorProgress(this.db.pool, this.ingestorGroup, this.topic).catch(() => null);
  }

  async trackerOffsets(): Promise<Map<number, number> | null> {
    try {
      const meta = await this.store.readMeta();
      return new Map((meta?.offsets ?? []).map(({ partition, offset }) => [partition, offset]));
    } catch {
      return null;
    }
  }

  async progress(): Promise<Progress> {
    const [ends, ingestor, tracker] = await Promise.all([
      this.topicEnds(),
      this.ingestorOffsets(),
      this.trackerOffsets(),
    ]);
    return { ends, ingestor, tracker };
  }

  /** Sum of the path's committed offsets (null when unreadable). */
  async committed(path: PathName): Promise<number | null> {
    const offsets = path === "ingestor" ? await this.ingestorOffsets() : await this.trackerOffsets();
    return offsets === null ? null : total(offsets);
  }

  /**
   * Marks the fault recovered at the first moment the path commits beyond where it stood when the fault
   * ended, or has nothing left to consume. Resolves with the fault (recoveredAtMs null after the timeout).
   */
  async awaitRecovery(path: PathName, fault: FaultRecord, timeoutMs = 240_000): Promise<FaultRecord> {
    let base: number | null = null;
    while (base === null && Date.now() - fault.endedAtMs < timeoutMs) {
      base = await this.committed(path);
      if (base === null) await sleep(200);
    }
    await eventually(
      `${path} commits again after ${fault.kind}`,
      async () => {
        const progress = await this.progress();
        const done = progress[path];
        if (done === null) return false;
        return (base !== null && total(done) > base) || lagOf(progress, path) === 0;
      },
      timeoutMs,
      100,
    )
      .then(() => {
        fault.recoveredAtMs = Date.now();
      })
      .catch(() => undefined);
    return fault;
  }

  /** Waits until both paths have consumed everything in the topic. */
  async waitCaughtUp(timeoutMs: number): Promise<void> {
    let last: Progress | null = null;
    try {
      await eventually(
        "both paths consumed the whole topic",
        async () => {
          last = await this.progress();
          return lagOf(last, "ingestor") === 0 && lagOf(last, "tracker") === 0;
        },
        timeoutMs,
        250,
      );
    } catch (error) {
      const tails = this.children.children
        .filter((c) => c.running)
        .map((c) => `--- ${c.label} (pid ${c.pid}) ---\n${c.tail().slice(-3_000)}`)
        .join("\n");
      throw new Error(`${String(error)}\nprogress: ${JSON.stringify(describe(last))}\n${tails}`);
    }
  }

  async close(): Promise<void> {
    await this.children.stopAll("SIGKILL");
    await this.admin?.disconnect().catch(() => undefined);
    await deleteGroups(this.kafka, [this.ingestorGroup, this.trackerGroup]).catch(() => undefined);
    await dropTopic(this.kafka, this.topic).catch(() => undefined);
    if (this.redisUrl === testServices().redisUrl && !isRedisCluster(this.redis))
      await deleteRedisPrefix(this.redis, this.prefix).catch(() => 0);
    this.redis.disconnect();
    await this.db.drop();
  }
}

function describe(progress: Progress | null): unknown {
  if (progress === null) return null;
  const plain = (m: Map<number, number> | null) => (m === null ? null : Object.fromEntries(m));
  return { ends: plain(progress.ends), ingestor: plain(progress.ingestor), tracker: plain(progress.tracker) };
}
