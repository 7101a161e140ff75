import { BUDGET_PERIODS, budgetPeriodOf, pacingTargetFraction } from "@adpipe/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { currentPeriod, drawsShape, periodKindOfId, targetCurve, targetMicros } from "../web/src/pace.js";

const ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Etc/GMT-5"];
/** 2000-01-01 .. 2100-01-01 */
const instant = fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 });

describe("the pace chart's period and target", () => {
  it("reads the kind of every period id core makes back from the id", () => {
    fc.assert(
      fc.property(
        instant,
        fc.constantFrom(...BUDGET_PERIODS),
        fc.constantFrom(...ZONES),
        (at, kind, zone) => {
          expect(periodKindOfId(budgetPeriodOf(at, kind, zone).id)).toBe(kind);
        },
      ),
    );
    expect(periodKindOfId("")).toBeNull();
    expect(periodKindOfId("next week")).toBeNull();
  });

  it("finds the advertiser's current period in its own calendar, else from the period id in UTC", () => {
    fc.assert(
      fc.property(
        instant,
        fc.constantFrom("day", "month", "hour" as const),
        fc.constantFrom(...ZONES),
        (at, kind, zone) => {
          const own = budgetPeriodOf(at, kind, zone);
          const found = currentPeriod({ period: own.id, budget_period: kind, time_zone: zone }, at);
          expect(found).toEqual({ startMs: own.startMs, endMs: own.endMs, kind });
          expect(found!.startMs <= at && at < found!.endMs).toBe(true);
          // An API without the calendar fields: the kind from the id, UTC.
          const utc = budgetPeriodOf(at, kind, "UTC");
          expect(currentPeriod({ period: utc.id }, at)).toEqual({
            startMs: utc.startMs,
            endMs: utc.endMs,
            kind,
          });
        },
      ),
    );
    expect(currentPeriod({ period: "lifetime" }, Date.now())).toBeNull();
    expect(currentPeriod({ period: null }, Date.now())).toBeNull();
    expect(
      currentPeriod({ period: "2026-11-25", budget_period: "day", time_zone: "Not/AZone" }, Date.now()),
    ).toBeNull();
  });

  it("draws the even target from 0 at the start to the whole budget at the end, never decreasing", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 1, max: 10 ** 10 }),
        fc.integer({ min: 1, max: 2 ** 45 }),
        fc.integer({ min: 1, max: 200 }),
        fc.constantFrom("even", "shaped"),
        (startMs, length, budget, samples, pacing) => {
          const period = { startMs, endMs: startMs + length };
          const curve = targetCurve(pacing, budget, period, samples);
          expect(curve).toHaveLength(samples + 1);
          expect(curve[0]).toEqual({ atMs: startMs, micros: 0 });
          expect(curve.at(-1)).toEqual({ atMs: period.endMs, micros: budget });
          for (let i = 1; i < curve.length; i++) {
            expect(curve[i]!.atMs).toBeGreaterThanOrEqual(curve[i - 1]!.atMs);
            expect(curve[i]!.micros).toBeGreaterThanOrEqual(curve[i - 1]!.micros);
            expect(curve[i]!.micros).toBeLessThanOrEqual(budget);
          }
        },
      ),
    );
    const day = { startMs: 0, endMs: 86_400_000 };
    expect(targetMicros("even", 1_000_000, day, 43_200_000)).toBe(500_000);
    expect(targetMicros("even", 1_000_000, day, 21_600_000)).toBe(250_000);
    // asap: no curve to follow, the budget is the only limit.
    expect(targetMicros("asap", 1_000_000, day, 1)).toBe(1_000_000);
  });

  it("draws a shaped advertiser's target by its traffic shape, as the tracker paces it (core's rule)", () => {
    const weights = fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 24, maxLength: 24 });
    fc.assert(
      fc.property(
        instant,
        fc.integer({ min: 1, max: 2 ** 45 }),
        weights,
        fc.integer({ min: 0, max: 86_400_000 }),
        fc.constantFrom(...ZONES),
        (at, budget, shape, offset, zone) => {
          const day = budgetPeriodOf(at, "day", zone);
          const t = day.startMs + Math.min(offset, day.endMs - day.startMs);
          const fraction = pacingTargetFraction("shaped", day.startMs, day.endMs, t, shape);
          expect(targetMicros("shaped", budget, day, t, shape)).toBe(
            Math.min(budget, Math.floor(budget * fraction)),
          );
          const curve = targetCurve("shaped", budget, day, 24, shape);
          expect(curve.at(-1)?.micros).toBe(budget);
          for (let i = 1; i < curve.length; i++)
            expect(curve[i]!.micros).toBeGreaterThanOrEqual(curve[i - 1]!.micros);
          // Without a usable shape (none learnt yet) it is the even curve shaped pacing falls back to.
          const even = targetCurve("even", budget, day, 24);
          expect(targetCurve("shaped", budget, day, 24, null)).toEqual(even);
          expect(drawsShape("shaped", shape)).toBe(shape.some((w) => w > 0));
          if (!drawsShape("shaped", shape)) expect(curve).toEqual(even);
        },
      ),
    );
    // A morning advertiser (all its traffic 00:00-06:00): by 06:00 its whole budget is on target, even's 25 %.
    const morning = Array.from({ length: 24 }, (_, h) => (h < 6 ? 1_000 : 0));
    const day = { startMs: 0, endMs: 86_400_000 };
    expect(targetMicros("shaped", 1_000_000, day, 6 * 3_600_000, morning)).toBe(1_000_000);
    expect(targetMicros("shaped", 1_000_000, day, 6 * 3_600_000, null)).toBe(250_000);
    expect(drawsShape("even", morning)).toBe(false);
  });
});
