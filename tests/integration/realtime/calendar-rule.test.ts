import { BUDGET_MODES, BUDGET_PERIODS, parseEvent } from "@adpipe/core";
import { Oracle } from "@adpipe/core/testing";
import { type SpendRecord, SpendStore, spendRecordOf } from "@adpipe/spend-store";
import fc from "fast-check";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { deleteRedisPrefix, testRedis, uniqueRedisPrefix } from "../../support/index.js";
import { diffAgainstOracle } from "./support/oracle-compare.js";

// The per-advertiser calendar rule (clickPeriodOf of @adpipe/core) in apply_slice against real Redis and the
// oracle: for any log of clicks and calendar changes (period and/or zone, mid-period, re-stated, around a DST
// day) cut into any batches, and any replay of a batch, the hash equals the oracle's state at the last record.

vi.setConfig({ testTimeout: 180_000 });

const H = 3_600_000;
// 2027-03-14: America/New_York springs forward; the log spans the two days around it.
const START = Date.UTC(2027, 2, 13, 12);
const ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata"] as const;

let redis: Redis;
const prefixes: string[] = [];

beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  for (const prefix of prefixes) await deleteRedisPrefix(redis, prefix);
  await redis.quit();
});

const entry = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("click" as const),
      step: fc.integer({ min: 0, max: 3 * H }),
      lag: fc.integer({ min: 0, max: 6 * H }),
      cents: fc.integer({ min: 1, max: 500 }),
      duplicateOf: fc.option(fc.nat(), { nil: undefined }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("update" as const),
      step: fc.integer({ min: 0, max: H }),
      budget_period: fc.option(fc.constantFrom(...BUDGET_PERIODS), { nil: undefined }),
      time_zone: fc.option(fc.constantFrom(...ZONES), { nil: undefined }),
      budget_mode: fc.option(fc.constantFrom(...BUDGET_MODES), { nil: undefined }),
      budget: fc.integer({ min: 0, max: 40 }),
    }),
  },
);

describe("apply_slice and per-advertiser calendars", () => {
  it("equals the oracle for any log of clicks and calendar changes, any batching, with replays", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(entry, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 9 }),
        fc.boolean(),
        async (log, batchSize, replay) => {
          const prefix = uniqueRedisPrefix("rt-cal");
          prefixes.push(prefix);
          // The clock is before the log: each hash's period is that of its newest record.
          const store = new SpendStore({ redis, topic: "clicks", prefix, clock: () => START - 24 * H });
          await store.loadScripts();
          await store.createSentinel();
          // A second tracker that redelivers every batch after the first applied it: its calendar memory lags
          // by one batch (a redelivery after a lost reply), so it packs a calendar change already applied.
          const lagging = new SpendStore({ redis, topic: "clicks", prefix, clock: () => START - 24 * H });
          lagging.adopt((await lagging.readMeta()) ?? expect.fail("no meta"));
          const id = `cal-${run++}`;
          let t = START;
          const values: { value: string; timestampMs: number }[] = [];
          const clickTimes: number[] = [];
          log.forEach((e, i) => {
            t += e.step;
            let value: object;
            if (e.kind === "click") {
              // A duplicate is a redelivery of an earlier click: same click_id, same event time.
              const original =
                e.duplicateOf === undefined ? undefined : e.duplicateOf % (clickTimes.length + 1);
              const eventTimeMs =
                original === undefined || original >= clickTimes.length
                  ? t - e.lag
                  : (clickTimes[original] as number);
              const clickId =
                original === undefined || original >= clickTimes.length
                  ? `c${clickTimes.length}`
                  : `c${original}`;
              if (clickId === `c${clickTimes.length}`) clickTimes.push(eventTimeMs);
              value = {
                event_type: "ad_click",
                advertiser_id: id,
                click_id: clickId,
                amount: e.cents / 100,
                timestamp: eventTimeMs,
              };
            } else {
              value = {
                event_type: "budget_update",
                advertiser_id: id,
                click_id: `u${i}`,
                budget_value: e.budget,
                budget_period: e.budget_period,
                time_zone: e.time_zone,
                budget_mode: e.budget_mode,
                timestamp: t,
              };
            }
            values.push({ value: JSON.stringify(value), timestampMs: t });
          });
          const records: SpendRecord[] = [];
          values.forEach(({ value, timestampMs }, offset) => {
            const parsed = parseEvent(value, { referenceTimeMs: timestampMs });
            if (!parsed.ok) throw new Error(parsed.detail);
            const record = spendRecordOf(parsed, { partition: 0, offset, timestampMs });
            if (record !== null) records.push(record);
          });
          for (let i = 0; i < records.length; i += batchSize) {
            const batch = records.slice(i, i + batchSize);
            const last = batch.at(-1) as SpendRecord;
            const progress = [{ partition: 0, offset: last.offset + 1 }];
            expect((await store.applyBatch(batch, progress)).status).toBe("applied");
            // A redelivery of the same batch changes nothing.
            if (replay) expect((await lagging.applyBatch(batch, progress)).status).toBe("applied");
          }
          const oracle = new Oracle().observeAll(values);
          const expected = oracle.servingStateAt(t).filter((s) => s.advertiserId === id);
          const states = await store.readStates();
          expect(diffAgainstOracle(states, expected)).toEqual([]);
          await deleteRedisPrefix(redis, prefix);
        },
      ),
      {
        numRuns: 150,
        examples: [
          // A lifetime hard_cap budget: the slice's clicks fall in two dedup days (two buckets) of one period,
          // and the second day's click must be billed after the first day's.
          [
            [
              {
                kind: "update",
                step: 0,
                budget_period: "lifetime",
                time_zone: undefined,
                budget_mode: "hard_cap",
                budget: 1,
              },
              { kind: "click", step: 3931024, lag: 0, cents: 1, duplicateOf: undefined },
              { kind: "click", step: 8240857, lag: 0, cents: 1, duplicateOf: 0 },
              { kind: "click", step: 8062666, lag: 0, cents: 1, duplicateOf: 0 },
              { kind: "click", step: 3874942, lag: 0, cents: 1, duplicateOf: undefined },
              { kind: "click", step: 10160171, lag: 0, cents: 1, duplicateOf: 0 },
              { kind: "click", step: 8930340, lag: 0, cents: 99, duplicateOf: undefined },
            ],
            4,
            false,
          ],
        ],
      },
    );
  });

  it("a calendar change drops the old period's forecast with its spend", async () => {
    const prefix = uniqueRedisPrefix("rt-cal-fc");
    prefixes.push(prefix);
    const store = new SpendStore({ redis, topic: "clicks", prefix, clock: () => START - 24 * H });
    await store.loadScripts();
    await store.createSentinel();
    const id = "cal-forecast";
    const values = [
      { event_type: "budget_update", advertiser_id: id, click_id: "u0", budget_value: 10, timestamp: START },
      { event_type: "ad_click", advertiser_id: id, click_id: "c0", amount: 2, timestamp: START + H },
      {
        event_type: "budget_update",
        advertiser_id: id,
        click_id: "u1",
        budget_value: 10,
        time_zone: "Asia/Kolkata",
        timestamp: START + 2 * H,
      },
    ].map((value, offset) => {
      const parsed = parseEvent(JSON.stringify(value), { referenceTimeMs: value.timestamp });
      if (!parsed.ok) throw new Error(parsed.detail);
      return spendRecordOf(parsed, { partition: 0, offset, timestampMs: value.timestamp }) as SpendRecord;
    });
    expect((await store.applyBatch(values.slice(0, 2), [{ partition: 0, offset: 2 }])).status).toBe(
      "applied",
    );
    const key = `${prefix}adv:{${id}}`;
    // What the forecast refresh would have written for the period that is about to restart.
    await redis.hset(
      key,
      "forecast_exhausted_at",
      "2027-03-13T20:00:00.000Z",
      "forecast_period_spend_micros",
      "9",
    );
    expect((await store.applyBatch(values.slice(2), [{ partition: 0, offset: 3 }])).status).toBe("applied");
    const [net, exhaustedAt, periodSpend] = await redis.hmget(
      key,
      "net_micros",
      "forecast_exhausted_at",
      "forecast_period_spend_micros",
    );
    expect(net).toBe("0");
    expect([exhaustedAt, periodSpend]).toEqual([null, null]);
  });
});
