import { forecastPeriod, formatIsoUtc } from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import { luaScript, type SpendStore } from "@adpipe/spend-store";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeRedisStore, openRedisStore } from "./support/redis-store.js";
import { generated, placeRecords, toSpendRecords } from "./support/stream.js";

// The forecast refresh of the spend store against real Redis (no Kafka): it writes forecastPeriod of every
// hash's state at the store's clock, and set_forecast never writes over a state that moved or into a hash that
// is gone.

let redis: Redis;
let prefix: string;
let now = 0;
let store: SpendStore;

beforeAll(async () => {
  ({ redis, prefix, store } = await openRedisStore("rt-forecast", { clock: () => now }));
});

afterAll(() => closeRedisStore(redis, prefix));

describe("forecast refresh", () => {
  it("writes every hash's forecast at the clock, only what changed, and moves with the clock", async () => {
    const stream = generated({
      seed: 77,
      events: 1_500,
      advertisers: 12,
      startMs: Date.UTC(2026, 4, 4, 3),
      spanMs: 4 * 3_600_000,
      shares: { budgetUpdate: 0, operatorBudget: 0 },
    });
    now = stream.at(-1)?.timestampMs ?? 0;
    const { records, progress } = toSpendRecords(placeRecords(stream, 3));
    await store.applyBatch(records, progress);
    const oracle = new Oracle().observeAll(stream);

    const check = async (atMs: number) => {
      const states = oracle.servingStateAt(atMs);
      for (const state of states) {
        const f = forecastPeriod({
          netMicros: state.netMicros,
          budgetMicros: state.budgetMicros,
          periodStartMs: state.periodStartMs,
          periodEndMs: state.periodEndMs,
          atMs,
        });
        const stored = await redis.hmget(
          `${prefix}adv:{${state.advertiserId}}`,
          "forecast_exhausted_at",
          "forecast_period_spend_micros",
        );
        expect([state.advertiserId, ...stored]).toEqual([
          state.advertiserId,
          f.exhaustedAtMs === null ? "" : formatIsoUtc(f.exhaustedAtMs),
          String(f.periodSpendMicros),
        ]);
      }
      return states.length;
    };

    const first = await store.refreshForecasts();
    expect(first.written).toBe(first.scanned);
    expect(await check(now)).toBe(first.scanned);
    // Nothing moved: nothing written.
    expect(await store.refreshForecasts()).toEqual({ scanned: first.scanned, written: 0 });
    // The clock moved (no clicks): the forecasts follow.
    now += 3_600_000;
    expect((await store.refreshForecasts()).written).toBeGreaterThan(0);
    await check(now);
  });

  it("set_forecast skips a hash whose spend, budget or period moved, and never creates one", async () => {
    const key = `${prefix}adv:{cas}`;
    await redis.hset(key, { period: "2026-05-04", net_micros: "10", budget_micros: "100" });
    const script = luaScript("set_forecast");
    const call = (keyName: string, period: string, net: string, budget: string) =>
      redis.evalsha(script.sha, 1, keyName, period, net, budget, "2026-05-04T20:00:00.000Z", "120");
    expect(await call(key, "2026-05-04", "9", "100")).toBe(0);
    expect(await call(key, "2026-05-04", "10", "")).toBe(0);
    expect(await call(key, "2026-05-03", "10", "100")).toBe(0);
    expect(await redis.hexists(key, "forecast_exhausted_at")).toBe(0);
    expect(await call(key, "2026-05-04", "10", "100")).toBe(1);
    expect(await redis.hmget(key, "forecast_exhausted_at", "forecast_period_spend_micros")).toEqual([
      "2026-05-04T20:00:00.000Z",
      "120",
    ]);
    expect(await call(`${prefix}adv:{gone}`, "2026-05-04", "0", "")).toBe(0);
    expect(await redis.exists(`${prefix}adv:{gone}`)).toBe(0);
  });
});
