import { budgetPeriodOf } from "@adpipe/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SpendRecord } from "../src/records.js";
import { buildSlices } from "../src/slice-decoder.js";
import { dedupTtlSeconds, utcDay } from "../src/slices.js";

const DAY = 86_400_000;
const T = Date.UTC(2026, 10, 25, 12);
const daily = (t: number) => budgetPeriodOf(t, "day");
const options = { periodOf: daily, dedupByDay: false, dedupHorizonMs: 3_600_000, nowMs: T };

function click(
  advertiserId: string,
  offset: number,
  eventTimeMs: number,
  amount = 1_000,
  partition = 0,
): SpendRecord {
  return {
    partition,
    offset,
    timestampMs: eventTimeMs,
    advertiserId,
    spend: { eventTimeMs, dedupKey: `c${offset}`, grossMicros: amount, netMicros: amount, clicks: 1 },
    budget: null,
  };
}

describe("buildSlices", () => {
  it("groups records per advertiser in first-seen order, keeping batch order inside each slice", () => {
    const slices = buildSlices(
      [click("b", 0, T), click("a", 1, T), click("b", 0, T, 5, 1), click("b", 2, T)],
      options,
    );
    expect(slices.map((s) => s.advertiserId)).toEqual(["b", "a"]);
    expect(slices[0]?.events.map((e) => [e.partition, e.offset])).toEqual([
      [0, 0],
      [1, 0],
      [0, 2],
    ]);
  });

  it("gives each period of a slice one bucket, and the slice the period of max(clock, newest record)", () => {
    const late = click("a", 1, T - DAY);
    const slices = buildSlices([click("a", 0, T), late, click("a", 2, T + 1)], {
      ...options,
      nowMs: T - 5 * DAY,
    });
    const slice = slices[0];
    expect(slice?.buckets.map((b) => b.periodId)).toEqual(["2026-11-25", "2026-11-24"]);
    expect(slice?.events.map((e) => e.bucket)).toEqual([0, 1, 0]);
    expect(slice?.currentPeriod.id).toBe("2026-11-25");
    expect(buildSlices([click("a", 0, T)], { ...options, nowMs: T + DAY })[0]?.currentPeriod.id).toBe(
      "2026-11-26",
    );
  });

  it("keeps budget observations and events without spend (bucket -1)", () => {
    const record: SpendRecord = {
      partition: 3,
      offset: 9,
      timestampMs: T,
      advertiserId: "a",
      spend: null,
      budget: { budgetMicros: 7_000_000, eventTimeMs: T - 1, source: "api" },
    };
    expect(buildSlices([record], options)[0]?.events).toEqual([
      {
        partition: 3,
        offset: 9,
        bucket: -1,
        dedupKey: null,
        reservationId: null,
        grossMicros: 0,
        netMicros: 0,
        clicks: 0,
        budgetMicros: 7_000_000,
        budgetTimeMs: T - 1,
        budgetSource: "api",
      },
    ]);
  });

  it("dedups lifetime budgets by UTC day", () => {
    const lifetime = (t: number) => budgetPeriodOf(t, "lifetime");
    const slices = buildSlices([click("a", 0, T), click("a", 1, T - DAY), click("a", 2, T + 60_000)], {
      ...options,
      periodOf: lifetime,
      dedupByDay: true,
    });
    expect(slices[0]?.buckets.map((b) => [b.periodId, b.dedupBucketId])).toEqual([
      ["lifetime", "2026-11-25"],
      ["lifetime", "2026-11-24"],
    ]);
  });

  it("carries each click's reservation id: its own, else its click id's (any text, packed and read back)", () => {
    const id = fc.option(fc.string({ minLength: 1, maxLength: 40, unit: "grapheme" }), { nil: null });
    fc.assert(
      fc.property(fc.array(fc.record({ dedupKey: id, reservationId: id }), { maxLength: 20 }), (drafts) => {
        const records = drafts.map((d, i): SpendRecord => {
          const base = click("a", i, T);
          return { ...base, spend: { ...(base.spend as NonNullable<SpendRecord["spend"]>), ...d } };
        });
        const events = buildSlices(records, options)[0]?.events ?? [];
        expect(events.map((e) => e.dedupKey)).toEqual(drafts.map((d) => d.dedupKey));
        expect(events.map((e) => e.reservationId)).toEqual(drafts.map((d) => d.reservationId ?? d.dedupKey));
      }),
      { numRuns: 500 },
    );
  });

  it("rejects amounts and offsets outside the safe-integer range", () => {
    expect(() => buildSlices([click("a", 0, T, 2 ** 53)], options)).toThrow(/safe integer/);
    expect(() => buildSlices([click("a", 2 ** 53, T)], options)).toThrow(/safe integer/);
  });

  it("loses and invents nothing: per advertiser, the slice carries exactly its records' micros", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            advertiser: fc.constantFrom("a", "b", "c", "d"),
            amount: fc.integer({ min: 1, max: 1_000_000_000 }),
            dayOffset: fc.integer({ min: -3, max: 1 }),
          }),
          { maxLength: 60 },
        ),
        (drafts) => {
          const records = drafts.map((d, i) => click(d.advertiser, i, T + d.dayOffset * DAY, d.amount));
          const slices = buildSlices(records, options);
          for (const slice of slices) {
            const want = records.filter((r) => r.advertiserId === slice.advertiserId);
            expect(slice.events.map((e) => e.offset)).toEqual(want.map((r) => r.offset));
            expect(slice.events.reduce((s, e) => s + e.netMicros, 0)).toBe(
              want.reduce((s, r) => s + (r.spend?.netMicros ?? 0), 0),
            );
            for (const [i, event] of slice.events.entries()) {
              const bucket = slice.buckets[event.bucket];
              expect(bucket?.periodStartMs).toBe(daily(want[i]?.spend?.eventTimeMs ?? 0).startMs);
            }
          }
          expect(slices.reduce((n, s) => n + s.events.length, 0)).toBe(records.length);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("dedupTtlSeconds", () => {
  it("covers the rest of the bucket plus the horizon, capped at one bucket length ahead", () => {
    const day = daily(T);
    expect(dedupTtlSeconds(day.startMs, day.endMs, T, 3_600_000)).toBe(12 * 3600 + 3600);
    expect(dedupTtlSeconds(day.startMs, day.endMs, day.endMs + 5, 3_600_000)).toBe(3600);
    expect(dedupTtlSeconds(day.startMs + 30 * DAY, day.endMs + 30 * DAY, T, 3_600_000)).toBe(
      24 * 3600 + 3600,
    );
  });

  it("utcDay is the UTC calendar day", () => {
    expect(utcDay(Date.UTC(2026, 10, 25, 23, 59, 59, 999))).toEqual({
      id: "2026-11-25",
      startMs: Date.UTC(2026, 10, 25),
      endMs: Date.UTC(2026, 10, 26),
    });
  });
});
