import { setTimeout as sleep } from "node:timers/promises";
import { kafkaConnectionFromEnv } from "@adpipe/config";
import { type AdpipeKafka, createKafka, deleteTopic, ensureTopic } from "@adpipe/kafka";
import { spendKeys } from "@adpipe/spend-store";
import { createPool, migrate } from "@adpipe/warehouse";
import type { Redis } from "ioredis";
import { logLevel } from "kafkajs";
import pg from "pg";
import type { BenchSettings } from "./settings.js";

/** Polls `check` until it returns true; throws after `timeoutMs` with `what` in the message. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  { timeoutMs = 120_000, intervalMs = 50 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function benchKafka(settings: BenchSettings, clientId: string): AdpipeKafka {
  return createKafka(kafkaConnectionFromEnv({ KAFKA_BROKERS: settings.kafkaBrokers }, { clientId }), {
    logLevel: logLevel.ERROR,
  });
}

export async function createTopic(kafka: AdpipeKafka, topic: string, partitions: number): Promise<void> {
  await ensureTopic(kafka, { topic, partitions });
}

export async function removeTopic(kafka: AdpipeKafka, topic: string): Promise<void> {
  await deleteTopic(kafka, topic).catch(() => undefined);
}

/** High watermark per partition. */
export async function endOffsets(kafka: AdpipeKafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

export function totalRecords(offsets: ReadonlyMap<number, bigint>): number {
  let total = 0n;
  for (const offset of offsets.values()) total += offset;
  return Number(total);
}

/** True when every partition's progress reached its end offset. */
export function reached(progress: ReadonlyMap<number, bigint>, ends: ReadonlyMap<number, bigint>): boolean {
  for (const [partition, end] of ends) {
    if (end > 0n && (progress.get(partition) ?? 0n) < end) return false;
  }
  return true;
}

export interface BenchDatabase {
  readonly name: string;
  readonly url: string;
  readonly pool: pg.Pool;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function withAdmin<T>(settings: BenchSettings, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: settings.databaseUrl, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A database of its own (migrated by @adpipe/warehouse), dropped with drop(). */
export async function createBenchDatabase(settings: BenchSettings, suffix: string): Promise<BenchDatabase> {
  const name = `adpipe_bench_${settings.tag}_${suffix}`
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_")
    .slice(0, 63);
  await withAdmin(settings, (client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  const url = withDatabase(settings.databaseUrl, name);
  const pool = createPool({ connectionString: url, max: 3, applicationName: "adpipe-bench" });
  await migrate(pool);
  let dropped = false;
  return {
    name,
    url,
    pool,
    async drop() {
      if (dropped) return;
      dropped = true;
      await pool.end().catch(() => undefined);
      await withAdmin(settings, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`),
      );
    },
  };
}

/** Next offset per partition the ingestor stored in Postgres for (group, topic). */
export async function warehouseProgress(
  pool: pg.Pool,
  group: string,
  topic: string,
): Promise<Map<number, bigint>> {
  const { rows } = await pool.query<{ partition: number; next_offset: string }>(
    `SELECT "partition", next_offset::text FROM ingest.consumer_offsets WHERE pipeline = $1 AND topic = $2`,
    [group, topic],
  );
  return new Map(rows.map((row) => [row.partition, BigInt(row.next_offset)]));
}

/** Next offset per partition the budget-tracker recorded in its Redis meta hash. */
export async function trackerProgress(
  redis: Redis,
  prefix: string,
  topic: string,
): Promise<Map<number, bigint>> {
  const fields = await redis.hgetall(spendKeys(prefix).meta(topic));
  const progress = new Map<number, bigint>();
  for (const [field, value] of Object.entries(fields)) {
    if (field.startsWith("o:")) progress.set(Number(field.slice(2)), BigInt(value));
  }
  return progress;
}

/** Every key under a bench prefix (SCAN, never KEYS). */
export async function scanPrefix(redis: Redis, prefix: string, pattern = "*"): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, page] = await redis.scan(cursor, "MATCH", `${prefix}${pattern}`, "COUNT", 1_000);
    cursor = next;
    keys.push(...page);
  } while (cursor !== "0");
  return keys;
}

/** Deletes every key under a prefix this bench created (refuses anything not starting with `bench:`). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  if (!prefix.startsWith("bench:") || prefix.length < 10) throw new Error(`refusing to delete "${prefix}*"`);
  const keys = await scanPrefix(redis, prefix);
  for (let i = 0; i < keys.length; i += 1_000) await redis.unlink(...keys.slice(i, i + 1_000));
}
