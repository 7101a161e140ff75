import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteRedisPrefix, testRedis, uniqueRedisPrefix } from "../../support/index.js";

describe("Redis round trip under its own key prefix", () => {
  let redis: Redis;
  const prefix = uniqueRedisPrefix("infra-redis");

  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(async () => {
    await deleteRedisPrefix(redis, prefix);
    await redis.quit();
  });

  it("stores integer micros exactly and increments them atomically in one round trip", async () => {
    const key = `${prefix}adv:1`;
    const results = await redis
      .multi()
      .hset(key, { spent_micros: "9007199254740000", budget_micros: "9007199254740991" })
      .hincrby(key, "spent_micros", 991)
      .hgetall(key)
      .exec();
    expect(results?.map(([error]) => error)).toEqual([null, null, null]);
    expect(results?.[2]?.[1]).toEqual({
      spent_micros: "9007199254740991",
      budget_micros: "9007199254740991",
    });
  });

  it("cleans up exactly its own prefix", async () => {
    const other = uniqueRedisPrefix("infra-redis-other");
    await redis.mset(`${prefix}a`, "1", `${prefix}b`, "2", `${other}keep`, "3");
    expect(await deleteRedisPrefix(redis, prefix)).toBeGreaterThanOrEqual(2);
    expect(await redis.exists(`${prefix}a`, `${prefix}b`)).toBe(0);
    expect(await redis.get(`${other}keep`)).toBe("3");
    await deleteRedisPrefix(redis, other);
    await expect(deleteRedisPrefix(redis, "adv:")).rejects.toThrow(/refusing/);
  });
});
