import { Redis } from "ioredis";
import { uniqueName } from "./names.js";
import { testServices } from "./services.js";

/** A Redis client for the test server; quit() it in afterAll. */
export function testRedis(): Redis {
  return new Redis(testServices().redisUrl, { maxRetriesPerRequest: 3 });
}

/** A key prefix no other test uses: `test:<unique>:`. Put every key of a test under it. */
export function uniqueRedisPrefix(prefix: string): string {
  return `test:${uniqueName(prefix)}:`;
}

/** Deletes every key under `prefix` (SCAN + UNLINK in batches, never KEYS). Returns how many were deleted. */
export async function deleteRedisPrefix(redis: Redis, prefix: string): Promise<number> {
  if (!prefix.startsWith("test:") || prefix.length < 10) {
    throw new Error(`refusing to delete keys under "${prefix}": test prefixes come from uniqueRedisPrefix()`);
  }
  const pattern = `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
  let cursor = "0";
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== "0");
  return deleted;
}
