import {
  budgetPeriodOf,
  decidePacedServing,
  formatServeFraction,
  mayReserve,
  type PacingMode,
} from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import { advertiserKey, createServingClient, type ServingClient } from "@adpipe/serving-client";
import type { SpendRecord, SpendStore } from "@adpipe/spend-store";
import fc from "fast-check";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, produceRecords, waitCaughtUp } from "./support/harness.js";
import { useRealtimePipeline } from "./support/pipeline.js";
import { closeRedisStore, openRedisStore, servingClientOf } from "./support/redis-store.js";

// Pacing (decidePacedServing of @adpipe/core) in apply_slice.lua and reserve.lua against a real Redis, and
// through Kafka -> budget-tracker -> Redis with an injected clock: ahead_of_pace, then serving again as time passes.

const HOUR = 3_600_000;
const DAY_START = Date.UTC(2026, 5, 1);
const TOLERANCE_BP = 500;

/** A budget_update (budget, pacing, mode at `atMs`) at `offset` of partition 0, applied through the store. */
async function applyBudget(
  store: SpendStore,
  update: {
    readonly advertiserId: string;
    readonly budgetMicros: number;
    readonly pacing: PacingMode | null;
    readonly mode: "observe" | "hard_cap";
    readonly atMs: number;
    readonly offset: number;
  },
): Promise<void> {
  const { advertiserId, budgetMicros, pacing, mode, atMs, offset } = update;
  const record: SpendRecord = {
    partition: 0,
    offset,
    timestampMs: atMs,
    advertiserId,
    spend: null,
    budget: {
      budgetMicros,
      eventTimeMs: atMs,
      source: "budget_update",
      mode,
      ...(pacing === null ? {} : { pacing }),
    },
  };
  await store.applyBatch([record], [{ partition: 0, offset: offset + 1 }]);
}

describe("apply_slice.lua pacing = decidePacedServing of @adpipe/core", () => {
  const TOPIC = "clicks";
  let redis: Redis;
  let prefix: string;
  let store: SpendStore;
  let client: ServingClient;
  let clock = DAY_START;
  let offset = 0;

  beforeAll(async () => {
    const opened = await openRedisStore("rt-pacing", {
      topic: TOPIC,
      clock: () => clock,
      pacingToleranceBp: TOLERANCE_BP,
    });
    ({ redis, prefix, store } = opened);
    client = servingClientOf(opened, TOPIC);
  });

  afterAll(() => closeRedisStore(redis, prefix, client));

  /** A budget_update setting budget, pacing (and mode) at the clock's instant, applied through the store. */
  async function setBudget(
    advertiserId: string,
    budgetMicros: number,
    pacing: PacingMode | null,
    mode: "observe" | "hard_cap" = "observe",
  ): Promise<void> {
    offset += 1;
    await applyBudget(store, { advertiserId, budgetMicros, pacing, mode, atMs: clock, offset });
  }

  it("can_serve, reason, serve_fraction and _pace_allowed agree with the rule at every instant (property)", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        // null: no pacing ever set (today's behaviour, no serve_fraction field).
        fc.constantFrom<PacingMode | null>(null, "asap", "even", "shaped"),
        fc.option(fc.array(fc.integer({ min: 0, max: 50_000 }), { minLength: 24, maxLength: 24 }), {
          nil: null,
        }),
        fc.integer({ min: 1, max: 2 ** 50 }),
        fc.integer({ min: 0, max: 2 ** 51 }),
        fc.integer({ min: 0, max: 86_399_999 }),
        fc.boolean(),
        async (pacing, shape, budgetMicros, netMicros, at, paused) => {
          const id = `prop-${n++}`;
          clock = DAY_START + at;
          const period = budgetPeriodOf(clock);
          await setBudget(id, budgetMicros, pacing);
          const key = advertiserKey(id, prefix);
          await redis.hset(key, { net_micros: String(netMicros), ...(paused ? { _paused: "1" } : {}) });
          if (shape !== null) await redis.hset(key, "_shape", shape.join(","));
          // The rollover sweep re-decides every hash; the pacing sweep (sweep()) would skip the unpaced ones,
          // whose net_micros this test writes behind the store's back.
          const outcome = await store.sweep(true);
          expect(outcome.epochChanged).toBe(false);
          const [canServe, reason, serveFraction, paceAllowed] = await redis.hmget(
            key,
            "can_serve",
            "reason",
            "serve_fraction",
            "_pace_allowed",
          );
          const expected = decidePacedServing({
            periodNetMicros: netMicros,
            budgetMicros,
            paused,
            pace:
              pacing === null
                ? null
                : {
                    pacing,
                    periodStartMs: period.startMs,
                    periodEndMs: period.endMs,
                    nowMs: clock,
                    toleranceBp: TOLERANCE_BP,
                    shape,
                  },
          });
          expect({ canServe: canServe === "1", reason: reason ?? null }).toEqual({
            canServe: expected.canServe,
            reason: expected.reason,
          });
          expect(serveFraction).toBe(pacing === null ? null : formatServeFraction(expected.serveFractionBp));
          expect(paceAllowed === null ? null : Number(paceAllowed)).toBe(expected.paceAllowedMicros);
          // The serving client reads what the tracker wrote.
          const answer = await client.get(id);
          expect(answer?.serveFraction).toBe(expected.serveFractionBp / 10_000);
          expect(answer?.pacing).toBe(pacing ?? "asap");
          // ...and, for shaped advertisers, the shape it paces by (the dashboard's target curve).
          expect(answer?.trafficShape ?? null).toEqual(pacing === "shaped" ? shape : null);
          await redis.del(key);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("reserve.lua refuses ahead_of_pace as mayReserve does, with the pace allowance composed with hard_cap", async () => {
    clock = DAY_START + 6 * HOUR; // a quarter of the day: target 25, allowance 30 of 100
    await setBudget("resv", 100_000_000, "even", "hard_cap");
    const key = advertiserKey("resv", prefix);
    expect(await redis.hget(key, "_pace_allowed")).toBe("30000000");
    const reserve = (reservationId: string, maxCostMicros: number) =>
      client.reserve({ advertiserId: "resv", reservationId, maxCostMicros, ttlMs: 60_000 });
    const granted = await reserve("r1", 20_000_000);
    expect(granted.granted).toBe(true);
    // Fits the budget (20 + 20 <= 100) but not the pace (20 + 20 > 30).
    expect((await reserve("r2", 20_000_000)).reason).toBe("ahead_of_pace");
    expect(
      mayReserve(
        {
          mode: "hard_cap",
          paused: false,
          budgetMicros: 100_000_000,
          netMicros: 0,
          reservedMicros: 20_000_000,
          paceAllowedMicros: 30_000_000,
        },
        20_000_000,
      ).reason,
    ).toBe("ahead_of_pace");
    // Later in the day the allowance has grown: the same reservation fits.
    clock = DAY_START + 12 * HOUR;
    await store.sweep();
    expect(await redis.hget(key, "_pace_allowed")).toBe("55000000");
    expect((await reserve("r2", 20_000_000)).granted).toBe(true);
  });
});

describe("the pacing sweep re-decides only the hashes whose decision time can change", () => {
  let redis: Redis;
  let prefix: string;
  let store: SpendStore;
  let clock = DAY_START + 6 * HOUR;

  beforeAll(async () => {
    ({ redis, prefix, store } = await openRedisStore("rt-pacing-sweep", {
      topic: "clicks",
      clock: () => clock,
      pacingToleranceBp: TOLERANCE_BP,
    }));
  });

  afterAll(() => closeRedisStore(redis, prefix));

  it("skips unpaced hashes within their period, rolls every hash whose period is over", async () => {
    const pacings: readonly (PacingMode | null)[] = ["even", "shaped", "asap", null, null];
    for (const [i, pacing] of pacings.entries())
      await applyBudget(store, {
        advertiserId: `adv-${i}`,
        budgetMicros: 100_000_000,
        pacing,
        mode: "observe",
        atMs: clock,
        offset: i + 1,
      });
    // The even-paced advertiser spent 40 of 100 by 06:00 (allowance 30): held back, until the curve catches up.
    await redis.hset(advertiserKey("adv-0", prefix), "net_micros", "40000000");
    const first = await store.sweep();
    expect({ scanned: first.scanned, decided: first.decided }).toEqual({ scanned: 5, decided: 2 });
    expect(await redis.hget(advertiserKey("adv-0", prefix), "reason")).toBe("ahead_of_pace");
    clock = DAY_START + 12 * HOUR;
    const later = await store.sweep();
    expect(later.decided).toBe(2);
    expect(later.flips).toEqual([{ advertiserId: "adv-0", canServe: true }]);
    // The next day: every hash's period is over, so the pacing sweep rolls them all (before any rollover sweep).
    clock = DAY_START + 25 * HOUR;
    expect((await store.sweep()).decided).toBe(5);
    const nextDay = budgetPeriodOf(clock).id;
    for (const i of pacings.keys())
      expect(await redis.hget(advertiserKey(`adv-${i}`, prefix), "period")).toBe(nextDay);
    expect((await store.sweep()).decided).toBe(2);
    // The rollover sweep re-decides every hash.
    expect((await store.sweep(true)).decided).toBe(5);
  });
});

describe("budget-tracker pacing through Kafka", () => {
  let now = DAY_START + 6 * HOUR;
  const pipeline = useRealtimePipeline({
    name: "rt-pacing",
    partitions: 2,
    tracker: {
      env: { PACING_CHECK_INTERVAL_MS: "100", PACING_TOLERANCE_PCT: "5" },
      options: { clock: () => now },
    },
  });

  const record = (value: object, timestampMs: number) => ({
    key: "paced",
    value: Buffer.from(JSON.stringify(value)),
    timestampMs,
  });

  it("holds an even-paced advertiser back (ahead_of_pace) and serves it again as the day goes on, without clicks", async () => {
    const { topic, reader, redis, prefix } = pipeline;
    const key = advertiserKey("paced", prefix);
    const at = new Date(now).toISOString();
    const clicks = Array.from({ length: 4 }, (_, i) =>
      record(
        {
          event_type: "ad_click",
          click_id: `c${i}`,
          advertiser_id: "paced",
          amount: 10,
          timestamp: new Date(now + i + 1).toISOString(),
        },
        now + i + 1,
      ),
    );
    const records = [
      record(
        {
          event_type: "budget_update",
          advertiser_id: "paced",
          budget_value: 100,
          pacing: "even",
          timestamp: at,
        },
        now,
      ),
      ...clicks,
    ];
    await produceRecords(topic.kafka, topic.topic, records);
    // The oracle predicts the hash at any instant from the same records (decidePacedServing).
    const oracle = new Oracle().observeAll(records);
    const predicted = async () => {
      const [prediction] = oracle.pacingDecisionsAt(now, 500);
      const [canServe, reason, fraction] = await redis.hmget(key, "can_serve", "reason", "serve_fraction");
      return (
        prediction !== undefined &&
        prediction.pacing === "even" &&
        canServe === (prediction.decision.canServe ? "1" : "0") &&
        (reason ?? null) === prediction.decision.reason &&
        fraction === formatServeFraction(prediction.decision.serveFractionBp)
      );
    };
    await waitCaughtUp(reader, topic.kafka, topic.topic);
    // A quarter of the day: target 25, allowance 30 of the 100 budget; 40 spent.
    await eventually("ahead_of_pace", async () => (await redis.hget(key, "reason")) === "ahead_of_pace");
    expect(await redis.hmget(key, "can_serve", "pacing", "serve_fraction", "net_micros")).toEqual([
      "0",
      "even",
      "0",
      "40000000",
    ]);
    await eventually("the oracle's prediction at 06:00", predicted);
    const client = createServingClient({ redis, prefix, topic: topic.topic });
    try {
      expect(await client.get("paced")).toMatchObject({
        canServe: false,
        reason: "ahead_of_pace",
        serveFraction: 0,
      });
      // 09:00: target 37.5, allowance 42.5: 40 is inside the tolerance band, served at half the rate.
      now = DAY_START + 9 * HOUR;
      await eventually("serving in the band", async () => (await redis.hget(key, "can_serve")) === "1");
      await eventually(
        "serve_fraction 0.5",
        async () => (await redis.hget(key, "serve_fraction")) === "0.5000",
      );
      await eventually("the oracle's prediction at 09:00", predicted);
      // Noon: target 50 > 40 spent: served fully.
      now = DAY_START + 12 * HOUR;
      await eventually("serve_fraction 1", async () => (await redis.hget(key, "serve_fraction")) === "1");
      expect(await client.get("paced")).toMatchObject({ canServe: true, reason: null, serveFraction: 1 });
    } finally {
      await client.close();
    }
  });
});
