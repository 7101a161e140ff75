import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { budgetPeriodOf, canonicalTimeZone, LIFETIME_PERIOD } from "../src/budget-period.js";
import { MAX_EVENT_TIME_MS, MIN_EVENT_TIME_MS, MS_PER_HOUR } from "../src/civil.js";
import type { BudgetPeriod } from "../src/contract.js";
import { timeBuckets } from "../src/time-buckets.js";

// 1,000-case property tests need more than the default 5 s on a small shared machine.
vi.setConfig({ testTimeout: 60_000 });

const RUNS = { numRuns: 1000 };

/** Local calendar fields of an instant in a zone, straight from Intl (an independent oracle for the tests). */
const fieldFormatters = new Map<string, Intl.DateTimeFormat>();
const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

function localFields(t: number, timeZone: string): { date: string; month: string; hour: string } {
  let formatter = fieldFormatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      hourCycle: "h23",
    });
    fieldFormatters.set(timeZone, formatter);
  }
  const parts = formatter.formatToParts(t);
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? "";
  const date = `${get("year")}-${get("month")}-${get("day")}`;
  return { date, month: date.slice(0, 7), hour: `${date}T${get("hour")}` };
}

describe("budgetPeriodOf in UTC", () => {
  const t = Date.UTC(2026, 10, 25, 13, 4, 5, 6);

  it("gives day, hour, month and lifetime periods with their ids", () => {
    expect(budgetPeriodOf(t)).toEqual({
      id: "2026-11-25",
      startMs: Date.UTC(2026, 10, 25),
      endMs: Date.UTC(2026, 10, 26),
    });
    expect(budgetPeriodOf(t, "hour")).toEqual({
      id: "2026-11-25T13",
      startMs: Date.UTC(2026, 10, 25, 13),
      endMs: Date.UTC(2026, 10, 25, 14),
    });
    expect(budgetPeriodOf(t, "month")).toEqual({
      id: "2026-11",
      startMs: Date.UTC(2026, 10, 1),
      endMs: Date.UTC(2026, 11, 1),
    });
    expect(budgetPeriodOf(Date.UTC(2026, 11, 31, 23), "month")).toEqual({
      id: "2026-12",
      startMs: Date.UTC(2026, 11, 1),
      endMs: Date.UTC(2027, 0, 1),
    });
    expect(budgetPeriodOf(t, "lifetime")).toBe(LIFETIME_PERIOD);
    expect(LIFETIME_PERIOD).toEqual({
      id: "lifetime",
      startMs: MIN_EVENT_TIME_MS,
      endMs: MAX_EVENT_TIME_MS + 1,
    });
  });

  it("treats the UTC aliases as UTC", () => {
    expect(budgetPeriodOf(t, "hour", "Etc/UTC").id).toBe("2026-11-25T13");
    expect(canonicalTimeZone("Etc/UTC")).toBe("UTC");
  });

  it("throws typed errors for bad times, periods and zones", () => {
    expect(() => budgetPeriodOf(Number.NaN)).toThrowError(
      expect.objectContaining({ code: "ADP_CORE_INVALID_TIME" }),
    );
    expect(() => budgetPeriodOf(MAX_EVENT_TIME_MS + 1)).toThrowError(
      expect.objectContaining({ code: "ADP_CORE_INVALID_TIME" }),
    );
    expect(() => budgetPeriodOf(t, "week" as BudgetPeriod)).toThrowError(
      expect.objectContaining({ code: "ADP_CORE_INVALID_PERIOD" }),
    );
    expect(() => budgetPeriodOf(t, "day", "Mars/Olympus_Mons")).toThrowError(
      expect.objectContaining({ name: "CoreError", code: "ADP_CORE_INVALID_TIME_ZONE" }),
    );
    expect(() => budgetPeriodOf(t, "day", "")).toThrowError(
      expect.objectContaining({ code: "ADP_CORE_INVALID_TIME_ZONE" }),
    );
  });

  it("property: the period contains the time and matches the UTC buckets", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: MIN_EVENT_TIME_MS, max: MAX_EVENT_TIME_MS }),
        fc.constantFrom<BudgetPeriod>("hour", "day", "month"),
        (time, period) => {
          const p = budgetPeriodOf(time, period);
          const b = timeBuckets(time);
          expect(p.startMs).toBeLessThanOrEqual(time);
          expect(time).toBeLessThan(p.endMs);
          const iso = new Date(time).toISOString();
          if (period === "hour") {
            expect(p.startMs).toBe(b.windowStartMs);
            expect(p.id).toBe(iso.slice(0, 13));
          } else if (period === "day") {
            expect(p.startMs).toBe(b.spendDayMs);
            expect(p.id).toBe(iso.slice(0, 10));
          } else {
            expect(p.startMs).toBe(b.spendMonthMs);
            expect(p.id).toBe(iso.slice(0, 7));
            if (p.endMs <= MAX_EVENT_TIME_MS) expect(budgetPeriodOf(p.endMs, "month").startMs).toBe(p.endMs);
          }
        },
      ),
      RUNS,
    );
  });
});

describe("budgetPeriodOf in IANA time zones", () => {
  it("New York: a 23-hour day when clocks spring forward and a 25-hour day when they fall back", () => {
    const spring = budgetPeriodOf(Date.UTC(2026, 2, 8, 12), "day", "America/New_York");
    expect(spring).toEqual({
      id: "2026-03-08",
      startMs: Date.UTC(2026, 2, 8, 5),
      endMs: Date.UTC(2026, 2, 9, 4),
    });
    expect(spring.endMs - spring.startMs).toBe(23 * MS_PER_HOUR);
    const fall = budgetPeriodOf(Date.UTC(2026, 10, 1, 12), "day", "America/New_York");
    expect(fall).toEqual({
      id: "2026-11-01",
      startMs: Date.UTC(2026, 10, 1, 4),
      endMs: Date.UTC(2026, 10, 2, 5),
    });
    expect(fall.endMs - fall.startMs).toBe(25 * MS_PER_HOUR);
  });

  it("New York: the repeated 01:00 hour is two periods with distinct ids", () => {
    const first = budgetPeriodOf(Date.UTC(2026, 10, 1, 5, 30), "hour", "America/New_York");
    const second = budgetPeriodOf(Date.UTC(2026, 10, 1, 6, 30), "hour", "America/New_York");
    expect(first).toEqual({
      id: "2026-11-01T01-04:00",
      startMs: Date.UTC(2026, 10, 1, 5),
      endMs: Date.UTC(2026, 10, 1, 6),
    });
    expect(second).toEqual({
      id: "2026-11-01T01-05:00",
      startMs: Date.UTC(2026, 10, 1, 6),
      endMs: Date.UTC(2026, 10, 1, 7),
    });
  });

  it("Kolkata (+05:30): days and hours start on the half hour UTC", () => {
    expect(budgetPeriodOf(Date.UTC(2026, 10, 25, 20), "day", "Asia/Kolkata")).toEqual({
      id: "2026-11-26",
      startMs: Date.UTC(2026, 10, 25, 18, 30),
      endMs: Date.UTC(2026, 10, 26, 18, 30),
    });
    expect(budgetPeriodOf(Date.UTC(2026, 10, 25, 20), "hour", "Asia/Kolkata")).toEqual({
      id: "2026-11-26T01+05:30",
      startMs: Date.UTC(2026, 10, 25, 19, 30),
      endMs: Date.UTC(2026, 10, 25, 20, 30),
    });
    expect(budgetPeriodOf(Date.UTC(2026, 10, 30, 20), "month", "Asia/Kolkata")).toEqual({
      id: "2026-12",
      startMs: Date.UTC(2026, 10, 30, 18, 30),
      endMs: Date.UTC(2026, 11, 31, 18, 30),
    });
  });

  it("Sao Paulo 2018-02-17: clocks fell back at midnight, a 25-hour day", () => {
    const day = budgetPeriodOf(Date.UTC(2018, 1, 17, 12), "day", "America/Sao_Paulo");
    expect(day.id).toBe("2018-02-17");
    expect(day.startMs).toBe(Date.UTC(2018, 1, 17, 2));
    expect(day.endMs).toBe(Date.UTC(2018, 1, 18, 3));
  });

  it("a day whose midnight does not exist starts at the first local instant of that date", () => {
    // Find, with Intl alone, a date in Asia/Beirut whose local midnight is skipped (DST starts at 00:00).
    const t = Date.UTC(2024, 2, 31, 12);
    const day = budgetPeriodOf(t, "day", "Asia/Beirut");
    expect(day.id).toBe("2024-03-31");
    expect(localFields(day.startMs, "Asia/Beirut").hour).toBe("2024-03-31T01");
    expect(localFields(day.startMs - 1, "Asia/Beirut").date).toBe("2024-03-30");
    expect(day.endMs - day.startMs).toBe(23 * MS_PER_HOUR);
  });

  it("property: in several zones the period is the maximal run of instants with its local date/hour/month", () => {
    const zones = [
      "America/New_York",
      "Europe/Berlin",
      "Asia/Kolkata",
      "Australia/Lord_Howe",
      "America/Sao_Paulo",
      "Asia/Beirut",
      "Pacific/Chatham",
    ];
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2040, 0, 1) }),
        fc.constantFrom(...zones),
        fc.constantFrom<BudgetPeriod>("hour", "day", "month"),
        (time, zone, period) => {
          const p = budgetPeriodOf(time, period, zone);
          expect(p.startMs).toBeLessThanOrEqual(time);
          expect(time).toBeLessThan(p.endMs);
          const field = (period === "day" ? "date" : period) as "date" | "month" | "hour";
          const key = (x: number): string =>
            period === "hour"
              ? `${localFields(x, zone).hour}|${offsetOf(x, zone)}`
              : localFields(x, zone)[field];
          expect(key(p.startMs)).toBe(key(time));
          expect(key(p.endMs - 1)).toBe(key(time));
          expect(key(p.startMs - 1)).not.toBe(key(time));
          expect(key(p.endMs)).not.toBe(key(time));
          const local = localFields(time, zone);
          if (period === "day") expect(p.id).toBe(local.date);
          if (period === "month") expect(p.id).toBe(local.month);
          if (period === "hour") expect(p.id.slice(0, 13)).toBe(local.hour);
        },
      ),
      RUNS,
    );
  }, 60_000);
});

function offsetOf(t: number, timeZone: string): string {
  let formatter = offsetFormatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" });
    offsetFormatters.set(timeZone, formatter);
  }
  return formatter.formatToParts(t).find((p) => p.type === "timeZoneName")?.value ?? "";
}
