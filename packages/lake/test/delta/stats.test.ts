import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { types } from "../../src/delta/schema.js";
import { fileStats } from "../../src/delta/stats.js";

const columns = [
  { name: "ts", type: types.timestamp(), nullable: true },
  { name: "amount", type: types.decimal(20, 6), nullable: true },
  { name: "name", type: types.string(), nullable: true },
  { name: "day", type: types.integer(), nullable: false },
  { name: "codes", type: types.array(types.string()), nullable: false },
];

/** max - min of bigints (Math.max does not take bigints). */
function spread(values: readonly bigint[]): bigint {
  const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return sorted[sorted.length - 1]! - sorted[0]!;
}

describe("fileStats", () => {
  it("timestamp bounds are widened to whole milliseconds: min <= every value <= max", () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 16n }), { minLength: 1, maxLength: 20 }),
        (values) => {
          const stats = JSON.parse(
            fileStats(
              columns,
              ["day"],
              values.map((ts) => ({ ts, amount: null, name: null, day: 1, codes: [] })),
            ),
          ) as { minValues: { ts: string }; maxValues: { ts: string } };
          const min = BigInt(Date.parse(stats.minValues.ts)) * 1000n;
          const max = BigInt(Date.parse(stats.maxValues.ts)) * 1000n;
          for (const v of values) {
            expect(min <= v).toBe(true);
            expect(max >= v).toBe(true);
          }
          expect(max - min).toBeLessThan(spread(values) + 2000n);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("writes exact decimal bounds, null counts, no bounds for long strings or arrays, and skips partition columns", () => {
    const long = "x".repeat(40);
    const text = fileStats(
      columns,
      ["day"],
      [
        { ts: null, amount: 1_500_000n, name: "b", day: 1, codes: ["a"] },
        { ts: null, amount: -2n, name: long, day: 1, codes: [] },
        { ts: null, amount: null, name: "a", day: 1, codes: [] },
      ],
    );
    expect(text).toContain('"amount":-0.000002');
    expect(text).toContain('"amount":1.500000');
    const stats = JSON.parse(text) as Record<string, Record<string, unknown>>;
    expect(stats.numRecords).toBe(3);
    expect(stats.minValues).toEqual({ amount: -0.000002, name: "a" });
    expect(stats.maxValues).toEqual({ amount: 1.5 });
    expect(stats.nullCount).toEqual({ ts: 3, amount: 1, name: 0, codes: 0 });
  });
});
