import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { Pacer } from "../src/pacer.js";

describe("Pacer", () => {
  test("releases events at the target rate", () => {
    const pacer = new Pacer(20, 1_000);
    expect(pacer.take(1_000)).toBe(0);
    expect(pacer.take(1_049)).toBe(0);
    expect(pacer.take(1_050)).toBe(1);
    expect(pacer.take(1_500)).toBe(9);
    expect(pacer.take(2_000)).toBe(10);
    expect(pacer.delayUntilNext(2_000)).toBe(50);
  });

  test("a limit defers the rest to the next step", () => {
    const pacer = new Pacer(1_000, 0);
    expect(pacer.take(100, 30)).toBe(30);
    expect(pacer.take(100)).toBe(70);
  });

  test("after a stall it catches up by at most one second's worth, then keeps the rate", () => {
    const pacer = new Pacer(100, 0);
    expect(pacer.take(10_000)).toBe(100);
    expect(pacer.take(10_500)).toBe(50);
  });

  test("ticks are between 5 and 100 ms", () => {
    expect(new Pacer(1, 0).tickMs(0)).toBe(100);
    expect(new Pacer(100_000, 0).tickMs(0)).toBe(5);
  });

  test("rejects a non-positive rate", () => {
    expect(() => new Pacer(0, 0)).toThrow(RangeError);
  });

  test("over any sequence of steps, the events released never exceed rate x elapsed (+1) nor lag it by a step", () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.5, max: 50_000, noNaN: true }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 60 }),
        (rate, steps) => {
          const pacer = new Pacer(rate, 0, 1_000_000);
          let now = 0;
          let released = 0;
          for (const step of steps) {
            now += step;
            released += pacer.take(now);
            const ideal = (now * rate) / 1_000;
            expect(released).toBeLessThanOrEqual(Math.floor(ideal) + 1e-9);
            expect(released).toBeGreaterThan(ideal - 1 - 1e-9);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
