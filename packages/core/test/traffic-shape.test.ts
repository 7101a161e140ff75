import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decidePacing,
  formatShape,
  type HourlySpend,
  localHourIndex,
  parseShape,
  SHAPE_HISTORY_DAYS,
  SHAPE_HOURS,
  SHAPE_MIN_ACTIVE_DAYS,
  SHAPE_WEIGHT_TOTAL,
  shapeHistoryEndMs,
  trafficShapeOf,
  usableShape,
} from "../src/index.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const END = Date.UTC(2026, 11, 6);
const zones = fc.constantFrom(
  "UTC",
  "America/New_York",
  "Europe/Berlin",
  "Asia/Kolkata",
  "Australia/Lord_Howe",
);
/** Hours of the 7-day window (plus some outside it), with any net including 0 and refunds. */
const history = fc.array(
  fc.record({
    hourStartMs: fc.integer({ min: -2 * 24, max: SHAPE_HISTORY_DAYS * 24 + 24 }).map((h) => END - h * HOUR),
    netMicros: fc.integer({ min: -5_000_000, max: 50_000_000 }),
  }),
  { maxLength: 300 },
);

function everyHour(days: number, net: (hourMs: number) => number): HourlySpend[] {
  const hours: HourlySpend[] = [];
  for (let t = END - days * DAY; t < END; t += HOUR) hours.push({ hourStartMs: t, netMicros: net(t) });
  return hours;
}

describe("trafficShapeOf", () => {
  it("is null or 24 non-negative integers summing to SHAPE_WEIGHT_TOTAL, usable by pacing", () => {
    fc.assert(
      fc.property(history, zones, (hours, zone) => {
        const shape = trafficShapeOf(hours, zone, END);
        if (shape === null) return;
        expect(shape).toHaveLength(SHAPE_HOURS);
        expect(shape.every((w) => Number.isSafeInteger(w) && w >= 0)).toBe(true);
        expect(shape.reduce((a, b) => a + b, 0)).toBe(SHAPE_WEIGHT_TOTAL);
        expect(usableShape(shape)).toBe(true);
        expect(parseShape(formatShape(shape))).toEqual(shape);
      }),
    );
  });

  it("falls back (null) with fewer active local days than the minimum, or no positive spend", () => {
    fc.assert(
      fc.property(history, zones, (hours, zone) => {
        const days = new Map<string, number>();
        for (const h of hours) {
          if (h.hourStartMs < END - SHAPE_HISTORY_DAYS * DAY || h.hourStartMs >= END) continue;
          const { dayId } = localHourIndex(h.hourStartMs, zone);
          days.set(dayId, (days.get(dayId) ?? 0) + h.netMicros);
        }
        const active = [...days.values()].filter((net) => net > 0).length;
        const shape = trafficShapeOf(hours, zone, END);
        if (active < SHAPE_MIN_ACTIVE_DAYS) expect(shape).toBeNull();
        // Zero and negative history never yields a shape.
        const nonPositive = hours.map((h) => ({ ...h, netMicros: Math.min(0, h.netMicros) }));
        expect(trafficShapeOf(nonPositive, zone, END)).toBeNull();
      }),
    );
  });

  it("ignores hours outside the 7-day window", () => {
    fc.assert(
      fc.property(history, zones, (hours, zone) => {
        const inside = hours.filter(
          (h) => h.hourStartMs >= END - SHAPE_HISTORY_DAYS * DAY && h.hourStartMs < END,
        );
        expect(trafficShapeOf(hours, zone, END)).toEqual(trafficShapeOf(inside, zone, END));
      }),
    );
  });

  it("is proportional: scaling every hour's spend keeps the shape", () => {
    fc.assert(
      fc.property(history, zones, fc.integer({ min: 2, max: 1000 }), (hours, zone, k) => {
        const scaled = hours.map((h) => ({ ...h, netMicros: h.netMicros * k }));
        expect(trafficShapeOf(scaled, zone, END)).toEqual(trafficShapeOf(hours, zone, END));
      }),
    );
  });

  it("puts a local-evening advertiser's weight on its local evening hours (UTC history)", () => {
    // Spends only 18:00-21:59 New York time (UTC-5 in December).
    const hours = everyHour(7, (t) => {
      const local = localHourIndex(t, "America/New_York").hour;
      return local >= 18 && local < 22 ? 1_000_000 : 0;
    });
    const shape = trafficShapeOf(hours, "America/New_York", END) as number[];
    expect(shape.slice(18, 22)).toEqual([2500, 2500, 2500, 2500]);
    expect(shape.reduce((a, b) => a + b, 0) - 10_000).toBe(0);
    // The same UTC history read in UTC lands 5 hours later.
    const utc = trafficShapeOf(hours, "UTC", END) as number[];
    expect(utc.slice(23).concat(utc.slice(0, 3))).toEqual([2500, 2500, 2500, 2500]);
  });

  it("counts local hours across DST: the 25th hour of a fall-back day is hour 23, 24 indices always", () => {
    const fallBackEnd = Date.UTC(2026, 10, 5); // window covers 2026-11-01 (New York falls back)
    const hours = everyHour(7, () => 1).map((h) => ({
      ...h,
      hourStartMs: h.hourStartMs - (END - fallBackEnd),
    }));
    const shape = trafficShapeOf(hours, "America/New_York", fallBackEnd) as number[];
    expect(shape).toHaveLength(24);
    expect(shape.reduce((a, b) => a + b, 0)).toBe(SHAPE_WEIGHT_TOTAL);
    // 2026-11-01 05:00Z is local 01:00 EDT (index 1); 06:00Z, the repeated 01:00 EST, is index 2 of that day.
    expect(localHourIndex(Date.UTC(2026, 10, 1, 5), "America/New_York").hour).toBe(1);
    expect(localHourIndex(Date.UTC(2026, 10, 1, 6), "America/New_York").hour).toBe(2);
    expect(localHourIndex(Date.UTC(2026, 10, 2, 4), "America/New_York")).toEqual({
      hour: 23,
      dayId: "2026-11-01",
    });
    // Spring forward (2026-03-08): a 23-hour day, its indices stop at 22.
    expect(localHourIndex(Date.UTC(2026, 2, 9, 3), "America/New_York")).toEqual({
      hour: 22,
      dayId: "2026-03-08",
    });
  });

  it("shaped pacing with a learnt shape holds back where even would not (and vice versa)", () => {
    // All traffic 18:00-21:59 UTC: at noon the shaped target is 0, the even target is half the budget.
    const shape = trafficShapeOf(
      everyHour(7, (t) =>
        localHourIndex(t, "UTC").hour >= 18 && localHourIndex(t, "UTC").hour < 22 ? 5 : 0,
      ),
      "UTC",
      END,
    );
    const at = { budgetMicros: 1_000_000, netMicros: 100_000, periodStartMs: END, periodEndMs: END + DAY };
    const noon = { ...at, nowMs: END + 12 * HOUR, toleranceBp: 500 };
    expect(decidePacing({ ...noon, pacing: "shaped", shape }).aheadOfPace).toBe(true);
    expect(decidePacing({ ...noon, pacing: "even" }).aheadOfPace).toBe(false);
    expect(decidePacing({ ...noon, pacing: "shaped", shape: null }).aheadOfPace).toBe(false);
  });

  it("rejects unknown time zones", () => {
    expect(() => trafficShapeOf([{ hourStartMs: END - HOUR, netMicros: 1 }], "Mars/Olympus", END)).toThrow();
  });
});

describe("shapeHistoryEndMs", () => {
  it("is the start of the UTC hour in progress: complete Gold hours only (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), (nowMs) => {
        const end = shapeHistoryEndMs(nowMs);
        expect(end % HOUR).toBe(0);
        expect(end <= nowMs && nowMs < end + HOUR).toBe(true);
      }),
    );
  });
});
