import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import {
  civilFromDays,
  daysFromCivil,
  MAX_EVENT_TIME_MS,
  MIN_EVENT_TIME_MS,
  MS_PER_DAY,
  MS_PER_HOUR,
} from "../src/civil.js";
import { timeBuckets, windowStartOf } from "../src/time-buckets.js";

// 1,000-case property tests need more than the default 5 s on a small shared machine.
vi.setConfig({ testTimeout: 60_000 });

const RUNS = { numRuns: 1000 };

function utcDate(year: number, month: number, day: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime();
}

describe("timeBuckets", () => {
  it("buckets the seed's example event", () => {
    const t = Date.UTC(2024, 0, 1, 12, 34, 56, 789);
    expect(timeBuckets(t)).toEqual({
      windowStartMs: Date.UTC(2024, 0, 1, 12),
      windowEndMs: Date.UTC(2024, 0, 1, 13),
      spendHourMs: Date.UTC(2024, 0, 1, 12),
      spendDayMs: Date.UTC(2024, 0, 1),
      spendMonthMs: Date.UTC(2024, 0, 1),
      ingestYear: 2024,
      ingestMonth: 1,
      ingestDay: 1,
      ingestHour: 12,
    });
  });

  it("puts an event exactly on the hour in the window that starts there", () => {
    const t = Date.UTC(2026, 10, 26, 0, 0, 0, 0);
    const b = timeBuckets(t);
    expect(b.windowStartMs).toBe(t);
    expect(b.spendDayMs).toBe(t);
    expect(timeBuckets(t - 1).spendDayMs).toBe(Date.UTC(2026, 10, 25));
    expect(timeBuckets(t - 1).ingestHour).toBe(23);
    expect(windowStartOf(t - 1)).toBe(t - MS_PER_HOUR);
  });

  it("works before 1970 and at the ends of 0000..9999", () => {
    expect(timeBuckets(-1).windowStartMs).toBe(-MS_PER_HOUR);
    expect(timeBuckets(-1).ingestYear).toBe(1969);
    expect(timeBuckets(MIN_EVENT_TIME_MS).ingestYear).toBe(0);
    expect(timeBuckets(MAX_EVENT_TIME_MS)).toMatchObject({
      ingestYear: 9999,
      ingestMonth: 12,
      ingestDay: 31,
      ingestHour: 23,
    });
    expect(timeBuckets(utcDate(2024, 2, 29) + 5)).toMatchObject({ ingestMonth: 2, ingestDay: 29 });
  });

  it("throws CoreError invalid_time on non-finite times", () => {
    expect(() => timeBuckets(Number.NaN)).toThrowError(
      expect.objectContaining({ code: "ADP_CORE_INVALID_TIME" }),
    );
  });

  it("property: the window contains the time, is one aligned hour, and day/month agree with Date", () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_EVENT_TIME_MS, max: MAX_EVENT_TIME_MS }), (t) => {
        const b = timeBuckets(t);
        const d = new Date(t);
        expect(b.windowStartMs).toBeLessThanOrEqual(t);
        expect(t).toBeLessThan(b.windowEndMs);
        expect(b.windowEndMs - b.windowStartMs).toBe(MS_PER_HOUR);
        expect(Math.abs(b.windowStartMs % MS_PER_HOUR)).toBe(0);
        expect(b.spendHourMs).toBe(b.windowStartMs);
        expect(b.spendDayMs).toBeLessThanOrEqual(b.windowStartMs);
        expect(b.windowStartMs - b.spendDayMs).toBeLessThan(MS_PER_DAY);
        expect(b.ingestYear).toBe(d.getUTCFullYear());
        expect(b.ingestMonth).toBe(d.getUTCMonth() + 1);
        expect(b.ingestDay).toBe(d.getUTCDate());
        expect(b.ingestHour).toBe(d.getUTCHours());
        expect(b.spendDayMs).toBe(utcDate(b.ingestYear, b.ingestMonth, b.ingestDay));
        expect(b.spendMonthMs).toBe(utcDate(b.ingestYear, b.ingestMonth, 1));
        expect(b.spendMonthMs).toBeLessThanOrEqual(b.spendDayMs);
      }),
      RUNS,
    );
  });

  it("property: civil day numbers round-trip", () => {
    const min = Math.floor(MIN_EVENT_TIME_MS / MS_PER_DAY);
    const max = Math.floor(MAX_EVENT_TIME_MS / MS_PER_DAY);
    fc.assert(
      fc.property(fc.integer({ min, max }), (days) => {
        const { year, month, day } = civilFromDays(days);
        expect(daysFromCivil(year, month, day)).toBe(days);
      }),
      RUNS,
    );
  });
});
