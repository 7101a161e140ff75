import { Redis } from "ioredis";
import { Kafka, logLevel } from "kafkajs";
import pg from "pg";

/** Why a service did not answer, or null when it did. Bounded: a few seconds at most each. */
export async function probeKafka(
  brokers: string[],
  ssl?: { ca: string[] },
  sasl?: { username: string; password: string },
): Promise<string | null> {
  const kafka = new Kafka({
    clientId: "adpipe-test-probe",
    brokers,
    ...(ssl === undefined ? {} : { ssl: { ...ssl, rejectUnauthorized: true } }),
    ...(sasl === undefined ? {} : { sasl: { mechanism: "plain", ...sasl } }),
    connectionTimeout: 3_000,
    requestTimeout: 5_000,
    retry: { retries: 1, initialRetryTime: 200 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function probePostgres(databaseUrl: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query("select 1");
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function probeRedis(redisUrl: string): Promise<string | null> {
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === "PONG" ? null : "PING did not answer PONG";
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    redis.disconnect();
  }
}
