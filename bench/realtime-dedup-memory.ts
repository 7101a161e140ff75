/**
 * Redis memory of the click_id dedup state per million clicks: the per-advertiser, per-period SETs the
 * apply_slice script keeps (key `<prefix>dedup:{<advertiser>}:<period>`, TTL = period end + DEDUP_HORIZON_MS).
 * Fills the sets the way the script does (SADD of the click_id) for 1,000,000 clicks spread over N
 * advertisers, then reports MEMORY USAGE summed over the keys and the used_memory delta from INFO.
 *
 *   node --conditions=source --import tsx bench/realtime-dedup-memory.ts [advertisers=1000] [clicks=1000000]
 *
 * Two click_id shapes: the generator's (`s31-c1a2b3`, ~11 bytes) and UUIDs (36 bytes, what SDKs send).
 */
import { randomBytes, randomUUID } from "node:crypto";
import { spendKeys } from "@adpipe/spend-store";
import { Redis } from "ioredis";

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info("memory");
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

async function measure(
  redis: Redis,
  shape: "generator" | "uuid",
  advertisers: number,
  clicks: number,
): Promise<Record<string, number | string>> {
  const prefix = `bench:dedup-${randomBytes(4).toString("hex")}:`;
  const keys = spendKeys(prefix);
  const before = await usedMemory(redis);
  const perAdvertiser = Math.ceil(clicks / advertisers);
  let written = 0;
  let idBytes = 0;
  for (let a = 0; a < advertisers && written < clicks; a++) {
    const key = keys.dedup(`adv-${a}`, "2026-11-25");
    const pipeline = redis.pipeline();
    const batch: string[] = [];
    for (let i = 0; i < perAdvertiser && written < clicks; i++, written++) {
      const id = shape === "uuid" ? randomUUID() : `s31-c${written.toString(36)}`;
      idBytes += id.length;
      batch.push(id);
      if (batch.length === 1_000) pipeline.sadd(key, ...batch.splice(0));
    }
    if (batch.length > 0) pipeline.sadd(key, ...batch);
    pipeline.expire(key, 90_000);
    await pipeline.exec();
  }
  let usage = 0;
  let cursor = "0";
  const found: string[] = [];
  do {
    const [next, page] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1_000);
    cursor = next;
    found.push(...page);
  } while (cursor !== "0");
  for (let i = 0; i < found.length; i += 500) {
    const pipeline = redis.pipeline();
    for (const key of found.slice(i, i + 500)) pipeline.memory("USAGE", key, "SAMPLES", 0);
    for (const [, value] of (await pipeline.exec()) ?? []) usage += Number(value);
  }
  const after = await usedMemory(redis);
  for (let i = 0; i < found.length; i += 500) await redis.unlink(...found.slice(i, i + 500));
  const perMillion = (bytes: number) => Math.round(((bytes / written) * 1_000_000) / 1_048_576);
  return {
    click_id_shape: shape,
    clicks: written,
    advertisers,
    mean_click_id_bytes: Math.round((idBytes / written) * 10) / 10,
    memory_usage_sum_mib_per_million: perMillion(usage),
    used_memory_delta_mib_per_million: perMillion(after - before),
    bytes_per_click: Math.round(usage / written),
  };
}

/** Fills and measures the sets for both click_id shapes, then deletes them. */
export async function measureDedupMemory(
  redis: Redis,
  advertisers = 1_000,
  clicks = 1_000_000,
): Promise<{ redis_version: string | undefined; results: Record<string, number | string>[] }> {
  const version = /redis_version:(\S+)/.exec(await redis.info("server"))?.[1];
  const results = [
    await measure(redis, "generator", advertisers, clicks),
    await measure(redis, "uuid", advertisers, clicks),
  ];
  return { redis_version: version, results };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  try {
    const report = await measureDedupMemory(
      redis,
      Number(process.argv[2] ?? 1_000),
      Number(process.argv[3] ?? 1_000_000),
    );
    console.log(JSON.stringify(report, null, 2));
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  } finally {
    await redis.quit();
  }
}
