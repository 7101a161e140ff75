import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RateSearch, type RateSearchBounds } from "../lib/rate-search.js";

/** Runs the search against an outcome function; returns the result and the rates probed, in order. */
function search(
  bounds: RateSearchBounds,
  passes: (rate: number) => boolean,
  seeds: [number, boolean][] = [],
) {
  const rateSearch = new RateSearch(bounds);
  for (const [rate, passed] of seeds) rateSearch.record(rate, passed);
  const probed: number[] = [];
  for (let rate = rateSearch.next(); rate !== undefined; rate = rateSearch.next()) {
    if (probed.length > 64) throw new Error(`the search does not end: ${probed.join(", ")}`);
    probed.push(rate);
    rateSearch.record(rate, passes(rate));
  }
  return { ...rateSearch.result(), probed };
}

const boundsArbitrary = fc
  .record({
    step: fc.constantFrom(250, 500, 1_000),
    minSteps: fc.integer({ min: 1, max: 20 }),
    spanSteps: fc.integer({ min: 0, max: 200 }),
  })
  .map(({ step, minSteps, spanSteps }) => ({
    step,
    min: minSteps * step,
    max: (minSteps + spanSteps) * step,
  }));

describe("RateSearch", () => {
  it("bisects to the grid rate just below the threshold", () => {
    const result = search({ min: 5_000, max: 40_000, step: 1_000 }, (rate) => rate <= 17_300);
    expect(result.sustained).toBe(17_000);
    expect(result.failed).toBe(18_000);
    expect(result.probed.slice(0, 3)).toEqual([5_000, 40_000, 23_000]);
  });

  it("starts from recorded outcomes: a bracket from the fixed rates needs no bound probes", () => {
    const result = search({ min: 5_000, max: 40_000, step: 1_000 }, (rate) => rate <= 12_000, [
      [5_000, true],
      [20_000, false],
    ]);
    expect(result.probed).not.toContain(5_000);
    expect(result.probed).not.toContain(40_000);
    expect(result).toMatchObject({ sustained: 12_000, failed: 13_000 });
  });

  it("reports below the range and at least the maximum as such", () => {
    expect(search({ min: 5_000, max: 40_000, step: 1_000 }, () => false)).toMatchObject({
      sustained: null,
      failed: 5_000,
      probed: [5_000],
    });
    expect(search({ min: 5_000, max: 40_000, step: 1_000 }, () => true)).toMatchObject({
      sustained: 40_000,
      failed: null,
      probed: [5_000, 40_000],
    });
  });

  it("measures a fail below a pass once more, and a second fail stands", () => {
    // The fixed rates: 5,000/s hit a stall, 10,000/s passed. The retry passes: the search goes on above 10,000.
    const retried = search({ min: 5_000, max: 40_000, step: 1_000 }, (rate) => rate <= 22_000, [
      [5_000, false],
      [10_000, true],
    ]);
    expect(retried.probed[0]).toBe(5_000);
    expect(retried).toMatchObject({ sustained: 22_000, failed: 23_000 });
    // Failing twice, 5,000/s is not sustained whatever passed above it.
    const twice = search({ min: 5_000, max: 40_000, step: 1_000 }, (rate) => rate !== 5_000, [
      [5_000, false],
      [10_000, true],
    ]);
    expect(twice).toMatchObject({ sustained: null, failed: 5_000, probed: [5_000] });
  });

  it("rejects bounds that are not on the grid", () => {
    expect(() => new RateSearch({ min: 5_500, max: 40_000, step: 1_000 })).toThrow(RangeError);
    expect(() => new RateSearch({ min: 5_000, max: 4_000, step: 1_000 })).toThrow(RangeError);
    expect(() => new RateSearch({ min: 5_000, max: 40_000, step: 0 })).toThrow(RangeError);
  });

  it("with a threshold, finds the highest grid rate at or below it in logarithmically many probes", () => {
    fc.assert(
      fc.property(boundsArbitrary, fc.integer({ min: 0, max: 300_000 }), (bounds, threshold) => {
        const result = search(bounds, (rate) => rate <= threshold);
        const expected = Math.floor(threshold / bounds.step) * bounds.step;
        if (threshold < bounds.min) expect(result.sustained).toBeNull();
        else if (expected >= bounds.max)
          expect(result).toMatchObject({ sustained: bounds.max, failed: null });
        else expect(result).toMatchObject({ sustained: expected, failed: expected + bounds.step });
        const gridPoints = (bounds.max - bounds.min) / bounds.step + 1;
        expect(result.probed.length).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(gridPoints)));
        for (const rate of result.probed) {
          expect(rate % bounds.step).toBe(0);
          expect(rate).toBeGreaterThanOrEqual(bounds.min);
          expect(rate).toBeLessThanOrEqual(bounds.max);
        }
        expect(new Set(result.probed).size).toBe(result.probed.length);
      }),
    );
  });

  it("with noisy outcomes and off-grid seeds, ends with an observed pass below an observed fail", () => {
    fc.assert(
      fc.property(
        boundsArbitrary,
        fc.func(fc.boolean()),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 300_000 }), fc.boolean()), { maxLength: 3 }),
        (bounds, outcome, seeds) => {
          const result = search(bounds, (rate) => outcome(rate), seeds);
          // A rate is measured at most twice (a contradicted fail, once more); each rate's latest outcome counts.
          for (const rate of result.probed) {
            expect(result.probes.filter((probe) => probe.rate === rate).length).toBeLessThanOrEqual(2);
          }
          const latest = new Map(result.probes.map((probe) => [probe.rate, probe.passed]));
          if (result.sustained !== null) expect(latest.get(result.sustained)).toBe(true);
          if (result.failed !== null) {
            expect(latest.get(result.failed)).toBe(false);
            for (const [rate, passed] of latest)
              if (!passed) expect(rate).toBeGreaterThanOrEqual(result.failed);
          }
          if (result.sustained !== null && result.failed !== null) {
            expect(result.sustained).toBeLessThan(result.failed);
            // Done means no grid rate of the range is left strictly between them.
            const nextGridRate = Math.max(
              bounds.min,
              (Math.floor(result.sustained / bounds.step) + 1) * bounds.step,
            );
            expect(nextGridRate >= result.failed || nextGridRate > bounds.max).toBe(true);
          }
        },
      ),
    );
  });
});
