import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  formatDate,
  formatDecimal,
  formatTimestampIso,
  formatTimestampMillis,
  parseDecimal,
  valueProblem,
} from "../../src/delta/values.js";

const MICROS_RANGE = { min: -62_135_596_800_000_000n, max: 253_402_300_799_999_999n }; // years 0001..9999

describe("money: decimals are exact", () => {
  it("formatDecimal and parseDecimal round-trip every unscaled value of decimal(20,6)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 20n) + 1n, max: 10n ** 20n - 1n }), (unscaled) => {
        const text = formatDecimal(unscaled, 6);
        expect(text).toMatch(/^-?\d{1,14}\.\d{6}$/);
        expect(parseDecimal(text, 6)).toBe(unscaled);
      }),
      { numRuns: 1000 },
    );
  });

  it("formats like Postgres numeric(20,6)::text", () => {
    expect(formatDecimal(0n, 6)).toBe("0.000000");
    expect(formatDecimal(-5n, 6)).toBe("-0.000005");
    expect(formatDecimal(1_234_567n, 6)).toBe("1.234567");
    expect(formatDecimal(42n, 0)).toBe("42");
    expect(parseDecimal("12.5", 6)).toBe(12_500_000n);
    expect(parseDecimal("-0.1000000", 6)).toBe(-100_000n);
  });

  it("refuses digits beyond the scale instead of rounding", () => {
    expect(() => parseDecimal("0.0000001", 6)).toThrow(/more than 6 decimal places/);
    expect(() => parseDecimal("abc", 6)).toThrow(/not a decimal/);
  });

  it("checks precision", () => {
    expect(valueProblem({ kind: "decimal", precision: 20, scale: 6 }, 10n ** 20n, false)).toMatch(
      /does not fit/,
    );
    expect(valueProblem({ kind: "decimal", precision: 20, scale: 6 }, 10n ** 20n - 1n, false)).toBeNull();
  });
});

describe("time: timestamps are UTC microseconds", () => {
  it("ISO formatting keeps every microsecond and agrees with Date at millisecond precision", () => {
    fc.assert(
      fc.property(fc.bigInt(MICROS_RANGE), (micros) => {
        const iso = formatTimestampIso(micros);
        expect(iso).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
        const ms = micros >= 0n ? micros / 1000n : -((-micros + 999n) / 1000n);
        expect(iso.slice(0, 23)).toBe(new Date(Number(ms)).toISOString().slice(0, 23));
        const back = BigInt(Date.parse(`${iso.slice(0, 23)}Z`)) * 1000n + BigInt(iso.slice(23, 26));
        expect(back).toBe(micros);
        expect(formatTimestampMillis(micros)).toBe(`${iso.slice(0, 23)}Z`);
      }),
      { numRuns: 1000 },
    );
  });

  it("days format as the UTC calendar date", () => {
    fc.assert(
      fc.property(fc.integer({ min: -719_162, max: 2_932_896 }), (days) => {
        expect(formatDate(days)).toBe(new Date(days * 86_400_000).toISOString().slice(0, 10));
      }),
      { numRuns: 1000 },
    );
    expect(formatDate(0)).toBe("1970-01-01");
    expect(formatDate(-1)).toBe("1969-12-31");
  });
});
