import { createServingClient } from "@adpipe/serving-client";
import type { SpendRecord, SpendStore } from "@adpipe/spend-store";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "./support/harness.js";
import { closeRedisStore, openRedisStore } from "./support/redis-store.js";

// The ad servers' client against state written by the real writer (SpendStore's Lua scripts).

let redis: Redis;
let prefix: string;
let store: SpendStore;
let offset = 0;
const now = Date.UTC(2026, 10, 25, 12);

beforeAll(async () => {
  ({ redis, prefix, store } = await openRedisStore("rt-client", { clock: () => now }));
});

afterAll(() => closeRedisStore(redis, prefix));

async function apply(
  advertiserId: string,
  change: { spend?: number; budget?: number; mode?: "observe" | "hard_cap" },
): Promise<void> {
  const record: SpendRecord = {
    partition: 0,
    offset: offset++,
    timestampMs: now,
    advertiserId,
    spend:
      change.spend === undefined
        ? null
        : {
            eventTimeMs: now,
            dedupKey: `c${offset}`,
            grossMicros: change.spend,
            netMicros: change.spend,
            clicks: 1,
          },
    budget:
      change.budget === undefined
        ? null
        : {
            budgetMicros: change.budget,
            eventTimeMs: now + offset,
            source: "budget_update",
            ...(change.mode === undefined ? {} : { mode: change.mode }),
          },
  };
  await store.applyBatch([record], [{ partition: 0, offset }]);
}

describe("serving client", () => {
  it("answers single and bulk lookups with the typed state; unknown advertisers get the default", async () => {
    await apply("on", { budget: 5_000_000, spend: 1_250_000 });
    await apply("off", { budget: 1_000_000, spend: 1_000_000 });
    const client = createServingClient({ redis, prefix });
    expect(await client.canServe("on")).toBe(true);
    expect(await client.canServe("off")).toBe(false);
    expect(await client.canServe("unknown")).toBe(false);
    expect(await createServingClient({ redis, prefix, serveWhenUnknown: true }).canServe("unknown")).toBe(
      true,
    );
    expect(await client.get("on")).toEqual({
      advertiserId: "on",
      canServe: true,
      reason: null,
      period: "2026-11-25",
      netMicros: 1_250_000,
      grossMicros: 1_250_000,
      budgetMicros: 5_000_000,
      budgetSource: "budget_update",
      mode: "observe",
      overCapMicros: 0,
      // Written by the tracker's forecast refresh only.
      forecastExhaustedAtMs: null,
      forecastPeriodSpendMicros: null,
      // The tracker records the calendar in force: the service-wide one here.
      budgetPeriod: "day",
      timeZone: "UTC",
      pacing: "asap",
      serveFraction: 1,
      trafficShape: null,
      clicks: 1,
      updatedAtMs: now,
    });
    const many = await client.getMany(["on", "off", "unknown", "on"]);
    expect([...many.keys()]).toEqual(["on", "off", "unknown"]);
    expect(many.get("off")).toMatchObject({ canServe: false, reason: "budget_exhausted" });
    expect(many.get("unknown")).toBeNull();
    await expect(client.get("")).rejects.toMatchObject({ code: "ADP_SERVING_CLIENT_INVALID_ADVERTISER_ID" });
  });

  it("reads the budget mode and the spend beyond a hard_cap budget as the tracker's script writes them", async () => {
    // A hard_cap budget of 1.00, then a click of 1.50: 1.00 billable, 0.50 over the cap (apply_slice.lua).
    await apply("capped", { budget: 1_000_000, mode: "hard_cap" });
    await apply("capped", { spend: 1_500_000 });
    const client = createServingClient({ redis, prefix });
    expect(await client.get("capped")).toMatchObject({
      canServe: false,
      reason: "budget_exhausted",
      netMicros: 1_000_000,
      grossMicros: 1_500_000,
      budgetMicros: 1_000_000,
      mode: "hard_cap",
      overCapMicros: 500_000,
    });
  });

  it("keeps a local cache that the changes channel invalidates at once", async () => {
    await apply("cached", { budget: 2_000_000, spend: 500_000 });
    const client = createServingClient({ redis, prefix, localCache: { maxEntries: 100, ttlMs: 60_000 } });
    await client.ready();
    try {
      expect(await client.canServe("cached")).toBe(true);
      expect(await client.canServe("cached")).toBe(true);
      expect(client.stats()).toMatchObject({ cacheHits: 1, cacheMisses: 1, cacheActive: true });

      // Spend that does not flip can_serve is not announced: the cached entry stays (staleness <= ttlMs).
      await apply("cached", { spend: 100_000 });
      expect((await client.get("cached"))?.netMicros).toBe(500_000);

      // Exhaustion flips can_serve: the message invalidates the entry, the next lookup reads Redis.
      await apply("cached", { spend: 1_400_000 });
      await eventually("invalidation received", () => client.stats().invalidations >= 1, 5_000);
      expect(await client.canServe("cached")).toBe(false);

      // An unknown advertiser is cached as unknown, and its first state is announced too.
      expect(await client.canServe("later")).toBe(false);
      await apply("later", { budget: 1_000_000 });
      await eventually("creation announced", () => client.stats().invalidations >= 2, 5_000);
      expect(await client.canServe("later")).toBe(true);
    } finally {
      await client.close();
    }
  });

  it("drops the whole cache on a rebuild's reset message", async () => {
    await apply("reset-me", { budget: 2_000_000 });
    const client = createServingClient({ redis, prefix, localCache: { maxEntries: 100, ttlMs: 60_000 } });
    await client.ready();
    try {
      expect(await client.canServe("reset-me")).toBe(true);
      await redis.publish(`${prefix}serving-changes`, JSON.stringify({ type: "reset", at: Date.now() }));
      await eventually("reset received", () => client.stats().resets === 1, 5_000);
      await client.canServe("reset-me");
      expect(client.stats().cacheMisses).toBe(2);
    } finally {
      await client.close();
    }
  });
});
