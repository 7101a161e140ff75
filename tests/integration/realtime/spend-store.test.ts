import {
  BUDGET_MODES,
  BUDGET_SOURCES,
  type BudgetMode,
  type BudgetObservation,
  billableMicros,
  budgetInForce,
  decideServing,
  type GeneratorOptions,
} from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import { parseServingChangeMessage, type ServingChangeMessage } from "@adpipe/serving-client";
import { SpendStore } from "@adpipe/spend-store";
import fc from "fast-check";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteRedisPrefix, testRedis, uniqueRedisPrefix } from "../../support/index.js";
import { diffAgainstOracle } from "./support/oracle-compare.js";
import { generated, type PlacedRecord, placeRecords, toSpendRecords } from "./support/stream.js";

// The spend store against real Redis and the core oracle, without Kafka: batches are cut from a generated
// stream the way a consumer would see them (several partitions interleaved, offsets in order per partition).

let redis: Redis;
const prefixes: string[] = [];

function newStore(clock: () => number, topic = "clicks"): SpendStore {
  const prefix = uniqueRedisPrefix("rt-store");
  prefixes.push(prefix);
  return new SpendStore({ redis, topic, prefix, clock });
}

beforeAll(() => {
  redis = testRedis();
});

afterAll(async () => {
  for (const prefix of prefixes) await deleteRedisPrefix(redis, prefix);
  await redis.quit();
});

/** Cuts the stream into batches of `size` consecutive records (partitions interleave inside a batch). */
function batches(records: readonly PlacedRecord[], size: number): PlacedRecord[][] {
  const out: PlacedRecord[][] = [];
  for (let i = 0; i < records.length; i += size) out.push(records.slice(i, i + size));
  return out;
}

describe("SpendStore against the oracle", () => {
  it.each<[string, Partial<GeneratorOptions>]>([
    ["budget_update events", {}],
    // Operator budgets (api and plain budget_update) interleaved with clicks carrying the advertisers' own.
    [
      "operator budgets among click-carried ones",
      { budgetChannel: "clicks", shares: { operatorBudget: 0.01 } },
    ],
    // Hard-capped advertisers with budgets spent within hours, mode switches among operator budgets.
    [
      "hard_cap advertisers among observe ones",
      {
        hardCapShare: 0.4,
        budgetMicros: { min: 1_000_000, max: 40_000_000 },
        shares: { operatorBudget: 0.01 },
      },
    ],
  ])(
    "ends in the oracle's period state to the micro-unit, with batches applied twice and a rollover (%s)",
    async (_, extra) => {
      const stream = placeRecords(generated({ seed: 11, events: 6_000, advertisers: 30, ...extra }), 3);
      const oracle = new Oracle();
      let now = stream[0]?.timestampMs ?? 0;
      const store = newStore(() => now);
      await store.loadScripts();
      await store.createSentinel();

      let duplicates = 0;
      let replayed = 0;
      for (const [i, batch] of batches(stream, 97).entries()) {
        for (const record of batch) oracle.observe(record);
        now = batch.at(-1)?.timestampMs ?? now;
        const { records, progress } = toSpendRecords(batch);
        const outcome = await store.applyBatch(records, progress);
        expect(outcome.status).toBe("applied");
        duplicates += outcome.duplicates;
        // Every fifth batch is delivered again (a crash after the Redis apply, before the Kafka commit).
        if (i % 5 === 0) {
          const again = await store.applyBatch(records, progress);
          expect(again.applied).toBe(0);
          expect(again.flips).toEqual([]);
          replayed += again.replayed;
        }
      }
      expect(duplicates).toBeGreaterThan(0);
      expect(replayed).toBeGreaterThan(0);

      const sweep = await store.sweep();
      expect(sweep.epochChanged).toBe(false);
      const expected = oracle.servingStateAt(now);
      expect(diffAgainstOracle(await store.readStates(), expected)).toEqual([]);
      // The stream crosses midnight UTC: the state is today's, and some advertisers do spend today.
      expect(expected.some((state) => state.netMicros > 0)).toBe(true);
      expect(expected.some((state) => !state.canServe)).toBe(true);
      if (extra.budgetChannel === "clicks") {
        const sources = new Set(expected.map((state) => state.budgetSource));
        expect(sources).toEqual(new Set(["click", "api", "budget_update"]));
      }
      if (extra.hardCapShare !== undefined) {
        // The clamp did bite, and hard-capped advertisers never bill past their budget in force.
        const capped = expected.filter((state) => state.mode === "hard_cap");
        expect(capped.some((state) => state.overCapMicros > 0)).toBe(true);
        expect(expected.some((state) => state.mode === "observe" && state.overspendMicros > 0)).toBe(true);
      }
    },
  );

  it("is exact when a redelivery overlaps applied records with different batch boundaries", async () => {
    const stream = placeRecords(generated({ seed: 12, events: 3_000, advertisers: 10 }), 2);
    const oracle = new Oracle();
    let now = stream[0]?.timestampMs ?? 0;
    const store = newStore(() => now);
    await store.loadScripts();
    await store.createSentinel();
    for (const record of stream) oracle.observe(record);

    // First pass: batches of 150, but the pass "crashes" after 2_000 records; the redelivery starts 333
    // records earlier with batches of 71, so batch boundaries never line up with the applied ones.
    for (const batch of batches(stream.slice(0, 2_000), 150)) {
      now = batch.at(-1)?.timestampMs ?? now;
      const { records, progress } = toSpendRecords(batch);
      await store.applyBatch(records, progress);
    }
    for (const batch of batches(stream.slice(2_000 - 333), 71)) {
      now = batch.at(-1)?.timestampMs ?? now;
      const { records, progress } = toSpendRecords(batch);
      await store.applyBatch(records, progress);
    }
    await store.sweep();
    expect(diffAgainstOracle(await store.readStates(), oracle.servingStateAt(now))).toEqual([]);
  });
});

describe("apply_slice serving rule", () => {
  it("agrees with decideServing in @adpipe/core", async () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const store = newStore(() => now);
    await store.loadScripts();
    await store.createSentinel();
    let offset = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5_000_000 }),
        fc.option(fc.integer({ min: 0, max: 5_000_000 }), { nil: null }),
        fc.boolean(),
        async (net, budget, paused) => {
          const advertiserId = `p${offset}`;
          const records = [
            {
              partition: 0,
              offset: offset++,
              timestampMs: now,
              advertiserId,
              spend:
                net === 0
                  ? null
                  : {
                      eventTimeMs: now - 1,
                      dedupKey: `c${offset}`,
                      grossMicros: net,
                      netMicros: net,
                      clicks: 1,
                    },
              budget:
                budget === null
                  ? null
                  : { budgetMicros: budget, eventTimeMs: now - 1, source: "click" as const },
            },
          ];
          await store.applyBatch(records, [{ partition: 0, offset }]);
          if (paused) await store.setPaused(advertiserId, true);
          const state = await store.readState(advertiserId);
          const want = decideServing({ periodNetMicros: net, budgetMicros: budget, paused });
          if (state === null) return net === 0 && budget === null && !paused;
          return state.canServe === want.canServe && state.reason === want.reason;
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("apply_slice budget precedence", () => {
  it("agrees with budgetInForce in @adpipe/core for any log of api, budget_update and click budgets, any batching", async () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const store = newStore(() => now);
    await store.loadScripts();
    await store.createSentinel();
    let run = 0;
    const observation = fc.record({
      budgetMicros: fc.integer({ min: 0, max: 9_000_000 }),
      // Few distinct times: ties (decided by partition order) are frequent.
      eventTimeMs: fc.integer({ min: now - 5, max: now }),
      source: fc.constantFrom(...BUDGET_SOURCES),
      spend: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(observation, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 1, max: 8 }),
        async (log, batchSize) => {
          const advertiserId = `prec-${run++}`;
          const records = log.map((o, offset) => ({
            partition: 0,
            offset,
            timestampMs: now,
            advertiserId,
            spend: o.spend
              ? { eventTimeMs: now, dedupKey: `c${offset}`, grossMicros: 1, netMicros: 1, clicks: 1 }
              : null,
            budget: { budgetMicros: o.budgetMicros, eventTimeMs: o.eventTimeMs, source: o.source },
          }));
          for (let i = 0; i < records.length; i += batchSize) {
            const batch = records.slice(i, i + batchSize);
            const outcome = await store.applyBatch(batch, [{ partition: 0, offset: i + batch.length }]);
            expect(outcome.status).toBe("applied");
          }
          const want = budgetInForce(log.map((o): BudgetObservation => ({ advertiserId, ...o })));
          const state = await store.readState(advertiserId);
          expect([state?.budgetMicros, state?.budgetSource, state?.budgetEventTimeMs]).toEqual([
            want?.budgetMicros,
            want?.source,
            want?.eventTimeMs,
          ]);
          const decision = decideServing({
            periodNetMicros: log.filter((o) => o.spend).length,
            budgetMicros: want?.budgetMicros ?? null,
          });
          expect([state?.canServe, state?.reason]).toEqual([decision.canServe, decision.reason]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a hash from before budget sources (no budget_source) ranks as click-carried", async () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const store = newStore(() => now);
    await store.loadScripts();
    await store.createSentinel();
    const budget = (offset: number, micros: number, at: number, source: "click" | "api") => ({
      partition: 0,
      offset,
      timestampMs: now,
      advertiserId: "legacy",
      spend: null,
      budget: { budgetMicros: micros, eventTimeMs: at, source },
    });
    await store.applyBatch([budget(0, 5_000_000, now - 10, "api")], [{ partition: 0, offset: 1 }]);
    await redis.hdel(store.keys.advertiser("legacy"), "budget_source");
    expect((await store.readState("legacy"))?.budgetSource).toBeNull();
    await store.applyBatch([budget(1, 7_000_000, now - 5, "click")], [{ partition: 0, offset: 2 }]);
    expect(await store.readState("legacy")).toMatchObject({ budgetMicros: 7_000_000, budgetSource: "click" });
    await store.applyBatch([budget(2, 9_000_000, now - 20, "api")], [{ partition: 0, offset: 3 }]);
    expect(await store.readState("legacy")).toMatchObject({ budgetMicros: 9_000_000, budgetSource: "api" });
  });
});

describe("apply_slice billing clamp", () => {
  it("agrees with billableMicros in @adpipe/core for any log of clicks, budgets and modes, any batching", async () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const store = newStore(() => now);
    await store.loadScripts();
    await store.createSentinel();
    let run = 0;
    const entry = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant("click" as const),
          netMicros: fc.integer({ min: 0, max: 4_000 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant("budget" as const),
          budgetMicros: fc.integer({ min: 0, max: 9_000 }),
          // Few distinct times: ties (decided by partition order) are frequent.
          eventTimeMs: fc.integer({ min: now - 5, max: now }),
          mode: fc.option(fc.constantFrom(...BUDGET_MODES), { nil: undefined }),
        }),
      },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(entry, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 8 }),
        async (log, batchSize) => {
          const advertiserId = `cap-${run++}`;
          const records = log.map((e, offset) => ({
            partition: 0,
            offset,
            timestampMs: now,
            advertiserId,
            spend:
              e.kind === "click"
                ? {
                    eventTimeMs: now,
                    dedupKey: `c${offset}`,
                    grossMicros: e.netMicros + 1,
                    netMicros: e.netMicros,
                    clicks: 1,
                  }
                : null,
            budget:
              e.kind === "budget"
                ? {
                    budgetMicros: e.budgetMicros,
                    eventTimeMs: e.eventTimeMs,
                    source: "api" as const,
                    mode: e.mode,
                  }
                : null,
          }));
          for (let i = 0; i < records.length; i += batchSize) {
            const batch = records.slice(i, i + batchSize);
            const outcome = await store.applyBatch(batch, [{ partition: 0, offset: i + batch.length }]);
            expect(outcome.status).toBe("applied");
          }
          // The rule folded over the log in order: budget and mode in force at each click's place.
          let budget: { micros: number; t: number } | null = null;
          let mode: { mode: BudgetMode; t: number } | null = null;
          let net = 0;
          let overCap = 0;
          let gross = 0;
          for (const e of log) {
            if (e.kind === "budget") {
              if (budget === null || e.eventTimeMs >= budget.t)
                budget = { micros: e.budgetMicros, t: e.eventTimeMs };
              if (e.mode !== undefined && (mode === null || e.eventTimeMs >= mode.t))
                mode = { mode: e.mode, t: e.eventTimeMs };
              continue;
            }
            const billable = billableMicros(
              mode?.mode ?? "observe",
              budget?.micros ?? null,
              net,
              e.netMicros,
            );
            net += billable;
            overCap += e.netMicros - billable;
            gross += e.netMicros + 1;
          }
          const state = await store.readState(advertiserId);
          expect([state?.netMicros, state?.overCapMicros, state?.grossMicros, state?.mode]).toEqual([
            net,
            overCap,
            gross,
            mode?.mode ?? "observe",
          ]);
          const decision = decideServing({ periodNetMicros: net, budgetMicros: budget?.micros ?? null });
          expect([state?.canServe, state?.reason]).toEqual([decision.canServe, decision.reason]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("serving changes", () => {
  it("a budget raise after exhaustion flips can_serve to 1 in the same batch and announces it", async () => {
    const now = Date.UTC(2026, 10, 25, 12);
    const store = newStore(() => now);
    await store.loadScripts();
    await store.createSentinel();
    const subscriber = redis.duplicate();
    const messages: ServingChangeMessage[] = [];
    subscriber.on("message", (_channel: string, text: string) => {
      const message = parseServingChangeMessage(text);
      if (message !== null) messages.push(message);
    });
    await subscriber.subscribe(`${store.keys.prefix}serving-changes`);
    try {
      const click = (offset: number, amount: number) => ({
        partition: 0,
        offset,
        timestampMs: now,
        advertiserId: "42",
        spend: {
          eventTimeMs: now - 10,
          dedupKey: `k${offset}`,
          grossMicros: amount,
          netMicros: amount,
          clicks: 1,
        },
        budget: null,
      });
      const budget = (offset: number, micros: number, at: number) => ({
        partition: 0,
        offset,
        timestampMs: now,
        advertiserId: "42",
        spend: null,
        budget: { budgetMicros: micros, eventTimeMs: at, source: "budget_update" as const },
      });
      const first = await store.applyBatch(
        [budget(0, 1_000_000, now - 100), click(1, 600_000), click(2, 400_000)],
        [{ partition: 0, offset: 3 }],
      );
      expect(first.flips).toEqual([{ advertiserId: "42", canServe: false }]);
      let state = await store.readState("42");
      expect(state).toMatchObject({ canServe: false, reason: "budget_exhausted", netMicros: 1_000_000 });

      // An older budget observation does not win; the newer raise flips can_serve back within this batch.
      const raise = await store.applyBatch(
        [budget(3, 5_000_000, now - 200), budget(4, 2_000_000, now - 50)],
        [{ partition: 0, offset: 5 }],
      );
      expect(raise.flips).toEqual([{ advertiserId: "42", canServe: true }]);
      state = await store.readState("42");
      expect(state).toMatchObject({ canServe: true, reason: null, budgetMicros: 2_000_000 });
      expect(await redis.hget(store.keys.advertiser("42"), "can_serve")).toBe("1");

      await expect.poll(() => messages.length).toBe(2);
      expect(messages.map((m) => (m.type === "serving_change" ? m.canServe : null))).toEqual([false, true]);
    } finally {
      subscriber.disconnect();
    }
  });

  it("the period rollover re-enables an exhausted advertiser with no new click (injected clock)", async () => {
    let now = Date.UTC(2026, 10, 25, 23, 59, 0);
    const store = newStore(() => now);
    await store.loadScripts();
    await store.createSentinel();
    await store.applyBatch(
      [
        {
          partition: 0,
          offset: 0,
          timestampMs: now,
          advertiserId: "a1",
          spend: {
            eventTimeMs: now,
            dedupKey: "c0",
            grossMicros: 3_000_000,
            netMicros: 3_000_000,
            clicks: 1,
          },
          budget: { budgetMicros: 2_000_000, eventTimeMs: now, source: "click" },
        },
      ],
      [{ partition: 0, offset: 1 }],
    );
    expect(await redis.hget(store.keys.advertiser("a1"), "can_serve")).toBe("0");

    now = Date.UTC(2026, 10, 26, 0, 0, 0, 1);
    const sweep = await store.sweep();
    expect(sweep.period.id).toBe("2026-11-26");
    expect(sweep.flips).toEqual([{ advertiserId: "a1", canServe: true }]);
    const fields = await redis.hgetall(store.keys.advertiser("a1"));
    expect(fields).toMatchObject({
      can_serve: "1",
      period: "2026-11-26",
      net_micros: "0",
      budget_micros: "2000000",
    });
    expect(fields.reason).toBeUndefined();
  });
});

describe("a Redis that came back empty", () => {
  it("refuses a batch of a replica that still holds the old epoch and has its scripts: nothing is written", async () => {
    const stream = placeRecords(generated({ seed: 12, events: 400, advertisers: 8 }), 2);
    let now = stream[0]?.timestampMs ?? 0;
    const first = newStore(() => now);
    await first.loadScripts();
    await first.createSentinel();
    const [before, after] = batches(stream, 200);
    if (before === undefined || after === undefined) throw new Error("the stream is too short");
    now = before.at(-1)?.timestampMs ?? now;
    const one = toSpendRecords(before);
    expect((await first.applyBatch(one.records, one.progress)).status).toBe("applied");

    // Redis loses every key (a restart without persistence); the scripts are loaded again at once, by another
    // replica, so this one gets no NOSCRIPT that would make it look for the sentinel first.
    const prefix = first.keys.prefix;
    await deleteRedisPrefix(redis, prefix);
    await first.loadScripts();
    now = after.at(-1)?.timestampMs ?? now;
    const two = toSpendRecords(after);
    const outcome = await first.applyBatch(two.records, two.progress);
    expect(outcome.status).toBe("state_lost");
    expect(outcome.advertisers).toBeGreaterThan(0);
    const [, keys] = await redis.scan("0", "MATCH", `${prefix}*`, "COUNT", 1000);
    expect(keys).toEqual([]);
  });
});
