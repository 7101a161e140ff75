import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { budgetPeriodOf, LIFETIME_PERIOD } from "../src/budget-period.js";
import { isCoreError } from "../src/errors.js";
import {
  exhaustedEarlyInLog,
  FORECAST_MIN_WINDOW_DIVISOR,
  type ForecastInput,
  forecastPeriod,
  isExhaustedEarly,
} from "../src/forecast.js";

const RUNS = { numRuns: 1_000 };
const DAY = 86_400_000;
const net = fc.integer({ min: -1_000_000_000_000, max: 1_000_000_000_000 });
const budget = fc.option(fc.integer({ min: 0, max: 1_000_000_000_000 }), { nil: null });
/** A period of 1 minute .. 31 days, an instant inside it (or a little outside). */
const periodAndInstant = fc
  .record({
    start: fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
    length: fc.integer({ min: 60_000, max: 31 * DAY }),
    at: fc.double({ min: -0.1, max: 1.1, noNaN: true }),
  })
  .map(({ start, length, at }) => ({
    periodStartMs: start,
    periodEndMs: start + length,
    atMs: start + Math.floor(length * at),
  }));
const input = fc
  .record({ netMicros: net, budgetMicros: budget, window: periodAndInstant })
  .map(({ netMicros, budgetMicros, window }): ForecastInput => ({ netMicros, budgetMicros, ...window }));

/** The rule in rational arithmetic: rate = net / max(elapsed, length / 24). */
function reference(i: ForecastInput): { exhaustedAtMs: number | null; periodSpendMicros: number } {
  const at = Math.max(i.atMs, i.periodStartMs);
  const window = BigInt(
    Math.max(at - i.periodStartMs, Math.max(1, Math.floor((i.periodEndMs - i.periodStartMs) / 24))),
  );
  const remaining = BigInt(Math.max(0, i.periodEndMs - at));
  const n = BigInt(i.netMicros);
  const spend = n > 0n ? n + (n * remaining) / window : n;
  if (i.budgetMicros === null || i.budgetMicros <= 0 || n <= 0n)
    return { exhaustedAtMs: null, periodSpendMicros: Number(spend) };
  // The smallest whole ms t ≥ 0 with net + net × t / window ≥ budget, searched in BigInt.
  const b = BigInt(i.budgetMicros);
  let t = 0n;
  if (n < b) {
    t = ((b - n) * window) / n;
    while (n * window + n * t < b * window) t++;
    while (t > 0n && n * window + n * (t - 1n) >= b * window) t--;
  }
  return {
    exhaustedAtMs: t <= remaining ? at + Number(t) : null,
    periodSpendMicros: Number(spend),
  };
}

describe("forecastPeriod", () => {
  it("equals the rational rule, to the micro and the millisecond", () => {
    fc.assert(
      fc.property(input, (i) => {
        expect(forecastPeriod(i)).toEqual(reference(i));
      }),
      RUNS,
    );
  });

  it("never forecasts exhaustion before now, nor after the period's end; integers only", () => {
    fc.assert(
      fc.property(input, (i) => {
        const f = forecastPeriod(i);
        expect(Number.isSafeInteger(f.periodSpendMicros)).toBe(true);
        if (f.exhaustedAtMs !== null) {
          expect(Number.isSafeInteger(f.exhaustedAtMs)).toBe(true);
          expect(f.exhaustedAtMs).toBeGreaterThanOrEqual(i.atMs);
          expect(f.exhaustedAtMs).toBeLessThanOrEqual(Math.max(i.periodEndMs, i.atMs));
        }
      }),
      RUNS,
    );
  });

  it("is empty without a budget, with a zero budget or without positive spend; never below the net", () => {
    fc.assert(
      fc.property(input, (i) => {
        const f = forecastPeriod(i);
        if (i.budgetMicros === null || i.budgetMicros === 0 || i.netMicros <= 0)
          expect(f.exhaustedAtMs).toBeNull();
        if (i.netMicros <= 0) expect(f.periodSpendMicros).toBe(i.netMicros);
        expect(f.periodSpendMicros).toBeGreaterThanOrEqual(i.netMicros);
      }),
      RUNS,
    );
  });

  it("forecasts exhaustion exactly when the projected period spend reaches the budget", () => {
    fc.assert(
      fc.property(input, (i) => {
        const f = forecastPeriod(i);
        const reaches =
          i.budgetMicros !== null &&
          i.budgetMicros > 0 &&
          i.netMicros > 0 &&
          (f.periodSpendMicros ?? 0) >= i.budgetMicros;
        expect(f.exhaustedAtMs !== null).toBe(reaches);
      }),
      RUNS,
    );
  });

  it("is monotonic in spend: more spend, a later-or-equal projection and an earlier-or-equal exhaustion", () => {
    fc.assert(
      fc.property(input, fc.integer({ min: 0, max: 1_000_000_000 }), (i, more) => {
        const a = forecastPeriod(i);
        const b = forecastPeriod({ ...i, netMicros: i.netMicros + more });
        expect(b.periodSpendMicros).toBeGreaterThanOrEqual(a.periodSpendMicros as number);
        if (a.exhaustedAtMs !== null) {
          expect(b.exhaustedAtMs).not.toBeNull();
          expect(b.exhaustedAtMs as number).toBeLessThanOrEqual(a.exhaustedAtMs);
        }
      }),
      RUNS,
    );
  });

  it("only moves later while no spend arrives", () => {
    fc.assert(
      fc.property(input, fc.integer({ min: 0, max: DAY }), (i, wait) => {
        const a = forecastPeriod(i);
        const b = forecastPeriod({ ...i, atMs: i.atMs + wait });
        if (a.exhaustedAtMs !== null && b.exhaustedAtMs !== null && i.netMicros < (i.budgetMicros ?? 0))
          expect(b.exhaustedAtMs).toBeGreaterThanOrEqual(a.exhaustedAtMs);
        if (a.exhaustedAtMs === null && i.atMs >= i.periodStartMs) expect(b.exhaustedAtMs).toBeNull();
      }),
      RUNS,
    );
  });

  it("worked examples: a day's budget of 100 units", () => {
    const day = budgetPeriodOf(Date.UTC(2026, 11, 5, 12), "day", "UTC");
    const at = (hours: number) => day.startMs + hours * 3_600_000;
    const base = { budgetMicros: 100_000_000, periodStartMs: day.startMs, periodEndMs: day.endMs };
    // 30 units by 06:00: 5 units an hour, 30 + 18 × 5 = 120 by midnight, 100 reached at 20:00.
    expect(forecastPeriod({ ...base, netMicros: 30_000_000, atMs: at(6) })).toEqual({
      exhaustedAtMs: at(20),
      periodSpendMicros: 120_000_000,
    });
    // 5 units in the first minute: measured over one hour (1/24 of the day), not one minute.
    const early = forecastPeriod({ ...base, netMicros: 5_000_000, atMs: day.startMs + 60_000 });
    expect(early.exhaustedAtMs).toBe(day.startMs + 60_000 + 19 * 3_600_000);
    expect(FORECAST_MIN_WINDOW_DIVISOR).toBe(24);
    // Already exhausted: now.
    expect(forecastPeriod({ ...base, netMicros: 100_000_000, atMs: at(10) }).exhaustedAtMs).toBe(at(10));
    // On pace for 48 units: no exhaustion.
    expect(forecastPeriod({ ...base, netMicros: 24_000_000, atMs: at(12) })).toEqual({
      exhaustedAtMs: null,
      periodSpendMicros: 48_000_000,
    });
    // Lifetime: no end to project to.
    expect(
      forecastPeriod({
        ...base,
        netMicros: 1,
        periodStartMs: LIFETIME_PERIOD.startMs,
        periodEndMs: LIFETIME_PERIOD.endMs,
        atMs: at(1),
      }),
    ).toEqual({ exhaustedAtMs: null, periodSpendMicros: null });
  });

  it("refuses unsafe integers and an empty period with CoreError", () => {
    const ok = { netMicros: 1, budgetMicros: 2, periodStartMs: 0, periodEndMs: DAY, atMs: 1 };
    for (const bad of [
      { ...ok, netMicros: 2 ** 53 },
      { ...ok, budgetMicros: 0.5 },
      { ...ok, atMs: Number.NaN },
      { ...ok, periodEndMs: 0 },
    ]) {
      expect(() => forecastPeriod(bad)).toThrow();
      try {
        forecastPeriod(bad);
      } catch (error) {
        expect(isCoreError(error)).toBe(true);
      }
    }
  });
});

describe("exhausted_early", () => {
  const day = budgetPeriodOf(Date.UTC(2026, 11, 5, 12), "day", "UTC");
  const hour = 3_600_000;

  it("holds when exhaustion is forecast before 80 % of the period (exact at the boundary)", () => {
    const base = { budgetMicros: 100_000_000, periodStartMs: day.startMs, periodEndMs: day.endMs };
    // 40 units by 08:00 → exhausted at 20:00 = 83 %: not early. 50 by 08:00 → 16:00 = 67 %: early.
    expect(isExhaustedEarly({ ...base, netMicros: 40_000_000, atMs: day.startMs + 8 * hour })).toBe(false);
    expect(isExhaustedEarly({ ...base, netMicros: 50_000_000, atMs: day.startMs + 8 * hour })).toBe(true);
    // Exhausted at 19:12 exactly (80 %): not before it. One micro more: before it.
    const at = day.startMs + 12 * hour;
    const exact = Math.ceil((100_000_000 * 12) / 19.2);
    expect(forecastPeriod({ ...base, netMicros: 62_500_000, atMs: at }).exhaustedAtMs).toBe(
      day.startMs + 19.2 * hour,
    );
    expect(exact).toBe(62_500_000);
    expect(isExhaustedEarly({ ...base, netMicros: 62_500_000, atMs: at })).toBe(false);
    expect(isExhaustedEarly({ ...base, netMicros: 62_500_001, atMs: at })).toBe(true);
  });

  it("over a log: true exactly when it holds at some click instant, and monotone in added spend", () => {
    const click = fc.record({
      timeMs: fc.integer({ min: day.startMs - hour, max: day.endMs + hour }),
      netMicros: fc.integer({ min: 0, max: 30_000_000 }),
    });
    fc.assert(
      fc.property(
        fc.array(click, { maxLength: 30 }),
        fc.array(click, { maxLength: 5 }),
        fc.integer({ min: 1, max: 200_000_000 }),
        (log, extra, budgetMicros) => {
          const early = exhaustedEarlyInLog(log, budgetMicros, day.startMs, day.endMs);
          const byInstant = log.some((c) =>
            isExhaustedEarly({
              netMicros: log
                .filter((o) => o.timeMs <= c.timeMs && o.timeMs >= day.startMs)
                .reduce((sum, o) => sum + o.netMicros, 0),
              budgetMicros,
              periodStartMs: day.startMs,
              periodEndMs: day.endMs,
              atMs: c.timeMs,
            }),
          );
          expect(early).toBe(byInstant);
          if (early)
            expect(exhaustedEarlyInLog([...log, ...extra], budgetMicros, day.startMs, day.endMs)).toBe(true);
          expect(exhaustedEarlyInLog(log, null, day.startMs, day.endMs)).toBe(false);
        },
      ),
      RUNS,
    );
  });
});
