import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { naturalCompare, naturalSort, type Series, topWithOthers } from "../web/src/order.js";

const name = fc.string({ unit: "grapheme-ascii", maxLength: 12 });
const names = fc.array(name, { maxLength: 40 });

describe("natural order of advertiser names", () => {
  it("orders numbered names by their number: Advertiser 2 before Advertiser 10", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat({ max: 1_000_000 }), { maxLength: 50 }),
        fc.constantFrom("Advertiser ", "adv-", "Shop #", ""),
        (numbers, prefix) => {
          const sorted = naturalSort(
            numbers.map((n) => `${prefix}${n}`),
            (s) => s,
          );
          expect(sorted).toEqual([...numbers].sort((a, b) => a - b).map((n) => `${prefix}${n}`));
        },
      ),
      { numRuns: 500 },
    );
    expect(naturalSort(["Advertiser 10", "Advertiser 2", "Advertiser 1"], (s) => s)).toEqual([
      "Advertiser 1",
      "Advertiser 2",
      "Advertiser 10",
    ]);
  });

  it("is a total order: antisymmetric, zero only for equal strings, transitive", () => {
    fc.assert(
      fc.property(name, name, name, (a, b, c) => {
        expect(Math.sign(naturalCompare(a, b)) + Math.sign(naturalCompare(b, a))).toBe(0);
        expect(naturalCompare(a, b) === 0).toBe(a === b);
        if (naturalCompare(a, b) <= 0 && naturalCompare(b, c) <= 0) {
          expect(naturalCompare(a, c)).toBeLessThanOrEqual(0);
        }
      }),
      { numRuns: 2_000 },
    );
  });

  it("gives one order whatever order the names arrive in", () => {
    fc.assert(
      fc.property(
        names.chain((list) =>
          fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length })),
        ),
        ([list, shuffled]) => {
          const sorted = naturalSort(list, (s) => s);
          expect(naturalSort(shuffled, (s) => s)).toEqual(sorted);
          for (let i = 1; i < sorted.length; i += 1) {
            expect(naturalCompare(sorted[i - 1]!, sorted[i]!)).toBeLessThanOrEqual(0);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

/** Series with unique labels and equally long value lists (as a chart's x axis gives them). */
const seriesList = fc
  .tuple(fc.integer({ min: 0, max: 12 }), fc.uniqueArray(name, { maxLength: 30 }))
  .chain(([points, labels]) =>
    fc.tuple(
      ...labels.map((label) =>
        fc
          .array(fc.option(fc.bigInt({ min: 0n, max: 10n ** 15n }), { nil: null }), {
            minLength: points,
            maxLength: points,
          })
          .map((values): Series => ({ label, values })),
      ),
    ),
  );

function total(series: readonly Series[], i: number): bigint | null {
  let sum: bigint | null = null;
  for (const s of series) {
    const value = s.values[i];
    if (value !== null && value !== undefined) sum = (sum ?? 0n) + value;
  }
  return sum;
}

const weight = (s: Series) => s.values.reduce<bigint>((sum, v) => sum + (v ?? 0n), 0n);

describe("top-N series with an 'others' series", () => {
  it("shows every series when they fit, else limit-1 of them and others; nothing lost, nothing counted twice", () => {
    fc.assert(
      fc.property(seriesList, fc.integer({ min: 2, max: 10 }), (series, limit) => {
        const grouped = topWithOthers(series, limit);
        const points = series[0]?.values.length ?? 0;
        if (series.length <= limit) {
          expect(grouped.others).toBeNull();
          expect(grouped.folded).toEqual([]);
          expect(grouped.shown.map((s) => s.label)).toEqual(
            naturalSort(
              series.map((s) => s.label),
              (l) => l,
            ),
          );
          return;
        }
        expect(grouped.shown).toHaveLength(limit - 1);
        expect(grouped.others?.label).toBe(`others (${series.length - limit + 1})`);
        // Every label is either shown or folded, once.
        expect([...grouped.shown.map((s) => s.label), ...grouped.folded].sort()).toEqual(
          series.map((s) => s.label).sort(),
        );
        // Point by point, shown + others is exactly the sum of all series (null only where no series has a value).
        const drawn = [...grouped.shown, grouped.others!];
        for (let i = 0; i < points; i += 1) expect(total(drawn, i)).toBe(total(series, i));
        // The folded series are never heavier than a shown one.
        const byLabel = new Map(series.map((s) => [s.label, s]));
        const shownWeights = grouped.shown.map(weight);
        for (const label of grouped.folded) {
          const folded = weight(byLabel.get(label)!);
          expect(shownWeights.every((w) => w >= folded)).toBe(true);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it("folds the lightest series: 10 advertisers, limit 4", () => {
    const series = Array.from({ length: 10 }, (_, i) => ({
      label: `Advertiser ${i + 1}`,
      values: [BigInt(i + 1) * 1_000_000n, null],
    }));
    const grouped = topWithOthers(series, 4);
    expect(grouped.shown.map((s) => s.label)).toEqual(["Advertiser 8", "Advertiser 9", "Advertiser 10"]);
    expect(grouped.folded).toHaveLength(7);
    expect(grouped.others).toEqual({ label: "others (7)", values: [28_000_000n, null] });
  });

  it("refuses a limit that leaves no room for others", () => {
    expect(() => topWithOthers([], 1)).toThrow(RangeError);
  });
});
