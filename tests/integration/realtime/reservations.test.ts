import { type BudgetMode, mayReserve, reservableMicros } from "@adpipe/core";
import {
  advertiserKey,
  createServingClient,
  metaKey,
  reservationExpiriesKey,
  reservationsKey,
  type ServingClient,
} from "@adpipe/serving-client";
import { type SpendRecord, SpendStore } from "@adpipe/spend-store";
import fc from "fast-check";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteRedisPrefix, uniqueRedisPrefix } from "../../support/index.js";
import { eventually } from "./support/harness.js";
import { closeRedisStore, openRedisStore, servingClientOf } from "./support/redis-store.js";

// Admission by reservation (reserve.lua / release.lua through @adpipe/serving-client) against a real Redis,
// on state written by the real writer (SpendStore's apply_slice).

const TOPIC = "clicks";
let redis: Redis;
let prefix: string;
let store: SpendStore;
let client: ServingClient;
let offset = 0;
const now = Date.now();

beforeAll(async () => {
  const opened = await openRedisStore("rt-reserve", { topic: TOPIC, clock: () => now });
  ({ redis, prefix, store } = opened);
  client = servingClientOf(opened, TOPIC);
});

afterAll(() => closeRedisStore(redis, prefix, client));

async function apply(
  advertiserId: string,
  change: { spend?: number; budget?: number; mode?: BudgetMode; clickId?: string; reservationId?: string },
  at: number = offset + 1,
): Promise<void> {
  offset = Math.max(offset, at);
  const record: SpendRecord = {
    partition: 0,
    offset: at,
    timestampMs: now,
    advertiserId,
    spend:
      change.spend === undefined
        ? null
        : {
            eventTimeMs: now,
            dedupKey: change.clickId ?? `c${at}`,
            ...(change.reservationId === undefined ? {} : { reservationId: change.reservationId }),
            grossMicros: change.spend,
            netMicros: change.spend,
            clicks: 1,
          },
    budget:
      change.budget === undefined
        ? null
        : {
            budgetMicros: change.budget,
            eventTimeMs: now + at,
            source: "budget_update",
            ...(change.mode === undefined ? {} : { mode: change.mode }),
          },
  };
  await store.applyBatch([record], [{ partition: 0, offset: at + 1 }]);
}

async function reserved(advertiserId: string): Promise<number> {
  return Number((await redis.hget(advertiserKey(advertiserId, prefix), "reserved_micros")) ?? 0);
}

describe("reserve / release", () => {
  it("grants hard_cap reservations while net + outstanding + maxCost fits, and records them", async () => {
    await apply("hc", { budget: 10_000_000, mode: "hard_cap", spend: 4_000_000 });
    const first = await client.reserve({
      advertiserId: "hc",
      reservationId: "r1",
      maxCostMicros: 5_000_000,
      ttlMs: 5_000,
    });
    expect(first).toEqual({ granted: true, reason: null, remainingMicros: 1_000_000 });
    expect(await reserved("hc")).toBe(5_000_000);
    // A retry of the same reservation is granted again and not counted twice.
    expect(
      await client.reserve({
        advertiserId: "hc",
        reservationId: "r1",
        maxCostMicros: 5_000_000,
        ttlMs: 5_000,
      }),
    ).toEqual({ granted: true, reason: null, remainingMicros: 1_000_000 });
    expect(
      await client.reserve({
        advertiserId: "hc",
        reservationId: "r2",
        maxCostMicros: 1_000_001,
        ttlMs: 5_000,
      }),
    ).toEqual({ granted: false, reason: "insufficient_budget", remainingMicros: 1_000_000 });
    expect(
      await client.reserve({
        advertiserId: "hc",
        reservationId: "r3",
        maxCostMicros: 1_000_000,
        ttlMs: 5_000,
      }),
    ).toEqual({ granted: true, reason: null, remainingMicros: 0 });
    expect(await redis.hgetall(reservationsKey("hc", prefix))).toEqual({ r1: "5000000", r3: "1000000" });
    expect(await redis.zcard(reservationExpiriesKey("hc", prefix))).toBe(2);

    expect(await client.release({ advertiserId: "hc", reservationId: "r1" })).toBe(true);
    expect(await client.release({ advertiserId: "hc", reservationId: "r1" })).toBe(false);
    expect(await reserved("hc")).toBe(1_000_000);
    expect(await redis.hgetall(reservationsKey("hc", prefix))).toEqual({ r3: "1000000" });
    expect(await redis.zrange(reservationExpiriesKey("hc", prefix), 0, -1)).toEqual(["r3"]);
  });

  it("answers observe advertisers from the serving decision and records nothing", async () => {
    await apply("obs", { budget: 10_000_000, spend: 9_000_000 });
    expect(
      await client.reserve({
        advertiserId: "obs",
        reservationId: "o1",
        maxCostMicros: 5_000_000,
        ttlMs: 5_000,
      }),
    ).toEqual({ granted: true, reason: null, remainingMicros: 1_000_000 });
    expect(await redis.exists(reservationsKey("obs", prefix))).toBe(0);
    expect(await reserved("obs")).toBe(0);
    await apply("obs", { spend: 1_000_000 });
    expect(
      await client.reserve({ advertiserId: "obs", reservationId: "o2", maxCostMicros: 1, ttlMs: 5_000 }),
    ).toEqual({ granted: false, reason: "budget_exhausted", remainingMicros: 0 });
  });

  it("refuses unknown advertisers, no budget, exhausted and paused ones with their reason", async () => {
    const ask = (advertiserId: string) =>
      client.reserve({ advertiserId, reservationId: "x", maxCostMicros: 1, ttlMs: 1_000 });
    expect(await ask("nobody")).toEqual({ granted: false, reason: "unknown", remainingMicros: null });
    await apply("zero", { budget: 0, mode: "hard_cap" });
    expect((await ask("zero")).reason).toBe("no_budget");
    await apply("spent", { budget: 5, mode: "hard_cap", spend: 5 });
    expect((await ask("spent")).reason).toBe("budget_exhausted");
    await apply("held", { budget: 5_000, mode: "hard_cap" });
    await store.setPaused("held", true);
    expect((await ask("held")).reason).toBe("paused");
  });

  it("fails closed with unavailable while the tracker state is missing (Redis lost it)", async () => {
    const lost = createServingClient({ redis, prefix, topic: "a-topic-without-sentinel" });
    await apply("lost", { budget: 5_000, mode: "hard_cap" });
    expect(
      await lost.reserve({ advertiserId: "lost", reservationId: "l1", maxCostMicros: 1, ttlMs: 1_000 }),
    ).toEqual({ granted: false, reason: "unavailable", remainingMicros: null });
    await lost.close();
  });

  it("holds hard_cap reservations back while reserve_hold_until (after a rebuild) lies ahead", async () => {
    await apply("hold", { budget: 5_000, mode: "hard_cap" });
    await apply("hold-observe", { budget: 5_000 });
    const meta = metaKey(prefix, TOPIC);
    await redis.hset(meta, "reserve_hold_until", Date.now() + 60_000);
    try {
      const ask = (advertiserId: string) =>
        client.reserve({ advertiserId, reservationId: "h", maxCostMicros: 1, ttlMs: 1_000 });
      expect((await ask("hold")).reason).toBe("unavailable");
      expect((await ask("hold-observe")).granted).toBe(true);
      await redis.hset(meta, "reserve_hold_until", Date.now() - 1);
      expect((await ask("hold")).granted).toBe(true);
    } finally {
      await redis.hdel(meta, "reserve_hold_until");
    }
  });

  it("after Redis lost the state: unavailable until the rebuild, then hard_cap held for RESERVATION_HOLD_MS", async () => {
    const lossPrefix = uniqueRedisPrefix("rt-reserve-loss");
    const holdMs = 1_500;
    const lossStore = new SpendStore({ redis, topic: TOPIC, prefix: lossPrefix, reservationHoldMs: holdMs });
    const lossClient = createServingClient({ redis, prefix: lossPrefix, topic: TOPIC });
    const budget = (advertiserId: string, mode: BudgetMode, at: number): SpendRecord => ({
      partition: 0,
      offset: at,
      timestampMs: Date.now(),
      advertiserId,
      spend: null,
      budget: { budgetMicros: 10_000_000, eventTimeMs: Date.now() + at, source: "api", mode },
    });
    const ask = (advertiserId: string) =>
      lossClient.reserve({ advertiserId, reservationId: `q${Date.now()}`, maxCostMicros: 1, ttlMs: 1_000 });
    try {
      await lossStore.createSentinel();
      await lossStore.applyBatch(
        [budget("cap", "hard_cap", 1), budget("obs", "observe", 2)],
        [{ partition: 0, offset: 3 }],
      );
      expect((await ask("cap")).granted).toBe(true);

      // Redis loses everything (restart without persistence): fail closed for everyone.
      await deleteRedisPrefix(redis, lossPrefix);
      expect(await ask("cap")).toEqual({ granted: false, reason: "unavailable", remainingMicros: null });

      // The rebuild restores spend; reservations lost with the old state may still settle until their TTL.
      const period = lossStore.currentPeriod();
      const snapshotOf = (advertiserId: string) => ({
        advertiserId,
        netMicros: 0,
        grossMicros: 0,
        clicks: 0,
        budgetMicros: 10_000_000,
        budgetEventTimeMs: Date.now(),
        budgetSource: "api" as const,
        clickIds: [],
      });
      const rebuiltAt = Date.now();
      await lossStore.restore({ period, advertisers: [snapshotOf("cap"), snapshotOf("obs")], offsets: [] });
      await lossStore.applyBatch(
        [budget("cap", "hard_cap", 10), budget("obs", "observe", 11)],
        [{ partition: 0, offset: 12 }],
      );
      const held = await ask("cap");
      if (Date.now() < rebuiltAt + holdMs) expect(held.reason).toBe("unavailable");
      expect((await ask("obs")).granted).toBe(true);
      await eventually("the hold ends", async () => (await ask("cap")).granted, 10_000);
      expect(Date.now()).toBeGreaterThanOrEqual(rebuiltAt + holdMs);

      // A rebuild of an intact Redis (adpipe rebuild-redis) drops the reservations with everything else.
      expect(
        await redis.exists(reservationsKey("cap", lossPrefix), reservationExpiriesKey("cap", lossPrefix)),
      ).toBe(2);
      await lossStore.restore({ period, advertisers: [snapshotOf("cap")], offsets: [] });
      expect(
        await redis.exists(reservationsKey("cap", lossPrefix), reservationExpiriesKey("cap", lossPrefix)),
      ).toBe(0);
      expect(await redis.hget(advertiserKey("cap", lossPrefix), "reserved_micros")).toBeNull();
    } finally {
      await lossClient.close();
      await deleteRedisPrefix(redis, lossPrefix);
    }
  });

  it("rejects malformed requests before Redis sees them", async () => {
    const bad = [
      { advertiserId: "", reservationId: "r", maxCostMicros: 1, ttlMs: 1 },
      { advertiserId: "a", reservationId: "", maxCostMicros: 1, ttlMs: 1 },
      { advertiserId: "a", reservationId: "r", maxCostMicros: 0, ttlMs: 1 },
      { advertiserId: "a", reservationId: "r", maxCostMicros: 1.5, ttlMs: 1 },
      { advertiserId: "a", reservationId: "r", maxCostMicros: 1, ttlMs: 0 },
      { advertiserId: "a", reservationId: "r", maxCostMicros: 1, ttlMs: 600_001 },
    ];
    for (const request of bad)
      await expect(client.reserve(request)).rejects.toMatchObject({
        code: expect.stringMatching(/^ADP_SERVING_CLIENT_INVALID_(ADVERTISER_ID|RESERVATION)$/),
      });
    await expect(
      createServingClient({ redis, prefix }).reserve({
        advertiserId: "a",
        reservationId: "r",
        maxCostMicros: 1,
        ttlMs: 1,
      }),
    ).rejects.toMatchObject({ code: "ADP_SERVING_CLIENT_INVALID_OPTION" });
  });

  it("32 concurrent reservers never over-grant: net + granted maxCost <= budget", async () => {
    const budget = 1_000_000;
    const net = 137_000;
    await apply("race", { budget, mode: "hard_cap", spend: net });
    const costs = Array.from({ length: 32 * 20 }, (_, i) => 1_000 + ((i * 7_919) % 9_000));
    const lanes = Array.from({ length: 32 }, (_, lane) =>
      (async () => {
        let granted = 0;
        for (let i = lane; i < costs.length; i += 32) {
          const cost = costs[i] as number;
          const answer = await client.reserve({
            advertiserId: "race",
            reservationId: `race-${i}`,
            maxCostMicros: cost,
            ttlMs: 60_000,
          });
          if (answer.granted) granted += cost;
          else expect(answer.reason).toBe("insufficient_budget");
        }
        return granted;
      })(),
    );
    const granted = (await Promise.all(lanes)).reduce((a, b) => a + b, 0);
    expect(net + granted).toBeLessThanOrEqual(budget);
    // Some demand was refused (the stream asks for far more than fits), and what was granted is what is recorded.
    expect(granted).toBeGreaterThan(budget - net - 10_000);
    expect(await reserved("race")).toBe(granted);
  });

  it("settles a reservation exactly once in the apply_slice call that adds the click's spend", async () => {
    await apply("settle", { budget: 10_000_000, mode: "hard_cap" });
    const reserve = (reservationId: string, maxCostMicros: number) =>
      client.reserve({ advertiserId: "settle", reservationId, maxCostMicros, ttlMs: 60_000 });
    expect((await reserve("click-1", 4_000_000)).granted).toBe(true);
    expect((await reserve("resv-2", 5_000_000)).granted).toBe(true);
    expect((await reserve("other", 2_000_000)).reason).toBe("insufficient_budget");

    // The click settles the reservation named by its click_id, costing less than reserved.
    const at = offset + 1;
    await apply("settle", { spend: 3_000_000, clickId: "click-1" }, at);
    expect(await reserved("settle")).toBe(5_000_000);
    expect(await redis.hkeys(reservationsKey("settle", prefix))).toEqual(["resv-2"]);
    // A replay of the same record (same offset) and a duplicate click (new offset) settle nothing more.
    await apply("settle", { spend: 3_000_000, clickId: "click-1" }, at);
    await apply("settle", { spend: 3_000_000, clickId: "click-1" });
    expect(await reserved("settle")).toBe(5_000_000);
    // A click naming its reservation explicitly.
    await apply("settle", { spend: 5_000_000, clickId: "click-2", reservationId: "resv-2" });
    expect(await reserved("settle")).toBe(0);
    expect(
      await redis.exists(reservationsKey("settle", prefix), reservationExpiriesKey("settle", prefix)),
    ).toBe(0);
    const hash = await redis.hmget(
      advertiserKey("settle", prefix),
      "net_micros",
      "over_cap_micros",
      "can_serve",
    );
    expect(hash).toEqual(["8000000", null, "1"]);
    expect((await reserve("click-3", 2_000_000)).granted).toBe(true);
    expect((await reserve("click-4", 1)).reason).toBe("insufficient_budget");
  });

  it("reserveMany answers many advertisers in one call, in order", async () => {
    await apply("m1", { budget: 100, mode: "hard_cap" });
    await apply("m2", { budget: 100 });
    const answers = await client.reserveMany([
      { advertiserId: "m1", reservationId: "a", maxCostMicros: 60, ttlMs: 1_000 },
      { advertiserId: "m2", reservationId: "a", maxCostMicros: 60, ttlMs: 1_000 },
      { advertiserId: "m1", reservationId: "b", maxCostMicros: 60, ttlMs: 1_000 },
      { advertiserId: "m-unknown", reservationId: "a", maxCostMicros: 60, ttlMs: 1_000 },
    ]);
    expect(answers.map((a) => a.reason)).toEqual([null, null, "insufficient_budget", "unknown"]);
    expect(await client.releaseMany([{ advertiserId: "m1", reservationId: "a" }])).toEqual([true]);
  });

  it("reserve.lua agrees with mayReserve and reservableMicros of @adpipe/core (property)", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<BudgetMode>("observe", "hard_cap"),
        fc.boolean(),
        fc.option(fc.integer({ min: 0, max: 2_000_000 }), { nil: null }),
        fc.integer({ min: 0, max: 2_000_000 }),
        fc.integer({ min: 0, max: 2_000_000 }),
        fc.integer({ min: 1, max: 2_000_000 }),
        async (mode, paused, budgetMicros, netMicros, reservedMicros, maxCostMicros) => {
          const id = `prop-${n++}`;
          const key = advertiserKey(id, prefix);
          await redis.hset(key, {
            can_serve: "0",
            net_micros: String(netMicros),
            mode,
            reserved_micros: String(reservedMicros),
            ...(budgetMicros === null ? {} : { budget_micros: String(budgetMicros) }),
            ...(paused ? { _paused: "1" } : {}),
          });
          const state = { mode, paused, budgetMicros, netMicros, reservedMicros };
          const expected = mayReserve(state, maxCostMicros);
          const answer = await client.reserve({
            advertiserId: id,
            reservationId: "p",
            maxCostMicros,
            ttlMs: 1_000,
          });
          expect(answer.granted).toBe(expected.granted);
          expect(answer.reason).toBe(expected.reason);
          const after =
            expected.granted && mode === "hard_cap"
              ? { ...state, reservedMicros: reservedMicros + maxCostMicros }
              : state;
          expect(answer.remainingMicros).toBe(reservableMicros(after));
          expect(await reserved(id)).toBe(after.reservedMicros);
        },
      ),
      { numRuns: 300 },
    );
  });
});
