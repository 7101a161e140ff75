import { readdir, readFile } from "node:fs/promises";
import os from "node:os";
import type { Redis } from "ioredis";
import type pg from "pg";

const ROOT = new URL("../../", import.meta.url);

async function packageVersion(name: string): Promise<string | null> {
  try {
    const text = await readFile(new URL(`node_modules/${name}/package.json`, ROOT), "utf8");
    return (JSON.parse(text) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

/** The local broker's version from the jar scripts/kafka.sh runs (kafka_2.13-<version>.jar). */
async function kafkaVersion(): Promise<string | null> {
  const libs = await readdir(new URL(".cache/kafka/libs/", ROOT)).catch(() => [] as string[]);
  for (const file of libs) {
    const match = /^kafka_[\d.]+-(\d+\.\d+\.\d+)\.jar$/.exec(file);
    if (match !== null) return match[1] ?? null;
  }
  return null;
}

export function loadAverage(): number[] {
  return os.loadavg().map((value) => Math.round(value * 100) / 100);
}

const POSTGRES_SETTINGS = [
  "server_version",
  "shared_buffers",
  "synchronous_commit",
  "fsync",
  "wal_level",
  "max_wal_size",
  "checkpoint_timeout",
  "work_mem",
] as const;

/** Hardware, load, and the versions and settings of everything the figures depend on. */
export async function machineInfo(postgres: pg.ClientBase, redis: Redis): Promise<Record<string, unknown>> {
  const cpus = os.cpus();
  const { rows } = await postgres.query<{ name: string; setting: string; unit: string | null }>(
    "SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1::text[])",
    [POSTGRES_SETTINGS],
  );
  const redisInfo = await redis.info("server");
  const redisField = (name: string) => new RegExp(`^${name}:(.*)$`, "m").exec(redisInfo)?.[1]?.trim() ?? null;
  return {
    hostname: os.hostname(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: { count: cpus.length, model: cpus[0]?.model ?? null },
    memory_bytes: os.totalmem(),
    load_average_start: loadAverage(),
    node: process.version,
    versions: {
      kafka_broker: await kafkaVersion(),
      postgres: rows.find((r) => r.name === "server_version")?.setting ?? null,
      redis: redisField("redis_version"),
      kafkajs: await packageVersion("kafkajs"),
      platformatic_kafka: await packageVersion("@platformatic/kafka"),
      pg: await packageVersion("pg"),
      ioredis: await packageVersion("ioredis"),
      autocannon: await packageVersion("autocannon"),
    },
    postgres_settings: Object.fromEntries(
      rows.map((r) => [r.name, r.unit === null ? r.setting : `${r.setting} ${r.unit}`]),
    ),
    redis_settings: { io_threads_active: redisField("io_threads_active") },
  };
}
