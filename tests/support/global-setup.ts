/**
 * vitest globalSetup of the integration project: makes sure Kafka, Postgres and Redis answer before any test
 * file runs, and hands their addresses to the tests (inject("testServices"), see tests/support/services.ts).
 *
 * - A service whose variable is set (KAFKA_BROKERS, DATABASE_URL, REDIS_URL) must answer there.
 * - Otherwise the local default is tried (127.0.0.1:9092 from scripts/kafka.sh, Postgres :5432, Redis :6379).
 * - Whatever still does not answer is started with testcontainers when a Docker engine is available
 *   (imported lazily: no Docker is ever required), and stopped again at teardown.
 * - Else it fails at once with a message saying what to run.
 */
import { readFileSync } from "node:fs";
import { parseEventHubsConnectionString } from "@adpipe/config";
import type { TestProject } from "vitest/node";
import { readEventHubsEnv } from "./event-hubs-env.js";
import { deleteLeakedTestTopics } from "./leaked-topics.js";
import { probeKafka, probePostgres, probeRedis } from "./probes.js";
import type { ServiceSource, TestServices } from "./provided.js";

const LOCAL = {
  kafka: "127.0.0.1:9092",
  postgres: "postgres://postgres@127.0.0.1:5432/test",
  redis: "redis://127.0.0.1:6379",
} as const;

// Images for developers with Docker only; CI and this machine use the local services.
const IMAGES = {
  kafka: "apache/kafka:3.9.1",
  postgres: "postgres:15-alpine",
  redis: "redis:7-alpine",
} as const;

interface Stoppable {
  stop(): Promise<unknown>;
}

function safe(url: string): string {
  return url.replace(/(\/\/[^:/@]*):[^@]*@/, "$1:[redacted]@");
}

async function dockerAvailable(): Promise<boolean> {
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

async function startKafkaContainer(): Promise<Stoppable> {
  const { GenericContainer, Wait } = await import("testcontainers");
  // Bound to the host's 9092 so the advertised address is the one tests use (the port is free: nothing answered).
  return new GenericContainer(IMAGES.kafka)
    .withExposedPorts({ container: 9092, host: 9092 })
    .withEnvironment({
      KAFKA_NODE_ID: "1",
      KAFKA_PROCESS_ROLES: "broker,controller",
      KAFKA_LISTENERS: "PLAINTEXT://:9092,CONTROLLER://:9094",
      KAFKA_ADVERTISED_LISTENERS: "PLAINTEXT://127.0.0.1:9092",
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      KAFKA_CONTROLLER_LISTENER_NAMES: "CONTROLLER",
      KAFKA_CONTROLLER_QUORUM_VOTERS: "1@localhost:9094",
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: "false",
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: "1",
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: "1",
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: "1",
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0",
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .withStartupTimeout(120_000)
    .start();
}

async function startPostgresContainer(): Promise<{ container: Stoppable; url: string }> {
  const { GenericContainer, Wait } = await import("testcontainers");
  const container = await new GenericContainer(IMAGES.postgres)
    .withExposedPorts(5432)
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: "trust", POSTGRES_DB: "test" })
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  return {
    container,
    url: `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/test`,
  };
}

async function startRedisContainer(): Promise<{ container: Stoppable; url: string }> {
  const { GenericContainer, Wait } = await import("testcontainers");
  const container = await new GenericContainer(IMAGES.redis)
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .start();
  return { container, url: `redis://${container.getHost()}:${container.getMappedPort(6379)}` };
}

/** The Event Hubs emulation of scripts/kafka.sh, when its SASL_SSL listener answers with the recorded secret. */
async function localEventHubs(): Promise<TestServices["eventHubs"]> {
  const env = readEventHubsEnv();
  if (env === null) return null;
  const { broker } = parseEventHubsConnectionString(env.EVENT_HUB_CONNECTION_STRING);
  const problem = await probeKafka(
    [broker],
    { ca: [readFileSync(env.KAFKA_SSL_CA_FILE, "utf8")] },
    { username: "$ConnectionString", password: env.EVENT_HUB_CONNECTION_STRING },
  );
  return problem === null
    ? { connectionString: env.EVENT_HUB_CONNECTION_STRING, caFile: env.KAFKA_SSL_CA_FILE }
    : null;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: Stoppable[] = [];
  const teardown = async () => {
    await Promise.allSettled(started.map((container) => container.stop()));
  };
  const env = process.env;
  const kafkaBrokers = (env.KAFKA_BROKERS ?? LOCAL.kafka).split(",").map((broker) => broker.trim());
  let databaseUrl = env.DATABASE_URL ?? LOCAL.postgres;
  let redisUrl = env.REDIS_URL ?? LOCAL.redis;

  const [kafkaProblem, postgresProblem, redisProblem] = await Promise.all([
    probeKafka(kafkaBrokers),
    probePostgres(databaseUrl),
    probeRedis(redisUrl),
  ]);
  let kafkaSource: ServiceSource = env.KAFKA_BROKERS ? "env" : "local";
  const missing: string[] = [];

  const canUseContainers =
    [
      kafkaProblem && !env.KAFKA_BROKERS,
      postgresProblem && !env.DATABASE_URL,
      redisProblem && !env.REDIS_URL,
    ].some(Boolean) && (await dockerAvailable());
  try {
    if (kafkaProblem) {
      if (!env.KAFKA_BROKERS && canUseContainers) {
        started.push(await startKafkaContainer());
        kafkaSource = "testcontainers";
      } else {
        missing.push(
          `Kafka does not answer at ${kafkaBrokers.join(",")} (${kafkaProblem}).\n` +
            (env.KAFKA_BROKERS
              ? "    Fix: start the broker KAFKA_BROKERS points to, or unset KAFKA_BROKERS to use the local one."
              : "    Fix: bash scripts/kafka.sh start   (or run the whole suite with: npm test, which starts it)"),
        );
      }
    }
    if (postgresProblem) {
      if (!env.DATABASE_URL && canUseContainers) {
        const postgres = await startPostgresContainer();
        started.push(postgres.container);
        databaseUrl = postgres.url;
      } else {
        missing.push(
          `Postgres does not answer at ${safe(databaseUrl)} (${postgresProblem}).\n` +
            "    Fix: bash scripts/infra.sh start   (starts a stopped local Postgres), or set DATABASE_URL.",
        );
      }
    }
    if (redisProblem) {
      if (!env.REDIS_URL && canUseContainers) {
        const redis = await startRedisContainer();
        started.push(redis.container);
        redisUrl = redis.url;
      } else {
        missing.push(
          `Redis does not answer at ${safe(redisUrl)} (${redisProblem}).\n` +
            "    Fix: bash scripts/infra.sh start   (starts a stopped local Redis), or set REDIS_URL.",
        );
      }
    }
  } catch (error) {
    await teardown();
    throw error;
  }
  if (missing.length > 0) {
    await teardown();
    throw new Error(
      `Integration tests need real services; not reachable:\n  - ${missing.join("\n  - ")}\n` +
        "  (No Docker engine was found to start them with testcontainers.)",
    );
  }

  // Also as environment variables, for code under test that reads them (workers start after this setup).
  process.env.KAFKA_BROKERS ??= kafkaBrokers.join(",");
  process.env.DATABASE_URL ??= databaseUrl;
  process.env.REDIS_URL ??= redisUrl;

  // The local broker keeps its data across runs: topics of killed earlier runs go now (see leaked-topics.ts).
  const leaked = await deleteLeakedTestTopics(kafkaBrokers);
  if (leaked > 0) console.log(`deleted ${leaked} topic(s) left behind by killed test runs`);

  const eventHubs = kafkaSource === "local" || kafkaSource === "env" ? await localEventHubs() : null;
  const services: TestServices = { kafkaBrokers, kafkaSource, databaseUrl, redisUrl, eventHubs };
  project.provide("testServices", services);
  return teardown;
}
