import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { CoreError } from "../src/errors.js";
import {
  addMicros,
  formatMicros,
  MICROS_PER_UNIT,
  microsToNumberString,
  parseExactMoneyToMicros,
  parseMoneyToMicros,
  subtractMicros,
  unitsToMicros,
} from "../src/money.js";
import { referenceFormat, referenceMicros } from "./decimal-reference.js";

// 1,000-case property tests need more than the default 5 s on a small shared machine.
vi.setConfig({ testTimeout: 60_000 });

const RUNS = { numRuns: 1000 };

function micros(value: unknown): number {
  const result = parseMoneyToMicros(value);
  if (!result.ok) throw new Error(`expected money, got ${result.code} for ${String(value)}`);
  return result.micros;
}

describe("parseMoneyToMicros", () => {
  it("reads JSON numbers from their shortest decimal form, so 0.1 + 0.2 is exactly 300000 micros", () => {
    expect(micros(0.1)).toBe(100_000);
    expect(micros(0.2)).toBe(200_000);
    expect(micros(0.1) + micros(0.2)).toBe(300_000);
    expect(micros(0.1 + 0.2)).toBe(300_000); // 0.30000000000000004 rounds half-even at 6 decimals
    expect(micros(0.5)).toBe(500_000);
    expect(micros(1000.0)).toBe(1_000_000_000);
    expect(micros(1.005)).toBe(1_005_000);
  });

  it("reads numeric strings exactly, including '.5', '5.', signs and exponents", () => {
    expect(micros("0.50")).toBe(500_000);
    expect(micros(".5")).toBe(500_000);
    expect(micros("5.")).toBe(5_000_000);
    expect(micros("+2.25")).toBe(2_250_000);
    expect(micros("-2.25")).toBe(-2_250_000);
    expect(micros("1e-6")).toBe(1);
    expect(micros("1.5E3")).toBe(1_500_000_000);
    expect(micros("123456789.123456")).toBe(123_456_789_123_456);
    expect(micros(1e-6)).toBe(1);
    expect(micros(2.5e-6)).toBe(2); // 2.5 micros: tie → even
  });

  it("rounds half to even at the sixth decimal", () => {
    expect(micros("0.0000015")).toBe(2);
    expect(micros("0.0000025")).toBe(2);
    expect(micros("0.0000035")).toBe(4);
    expect(micros("0.00000250000001")).toBe(3);
    expect(micros("0.0000024999")).toBe(2);
    expect(micros("1.2345675")).toBe(1_234_568);
    expect(micros("1.2345665")).toBe(1_234_566);
    expect(micros("-1.2345665")).toBe(-1_234_566);
  });

  it("-0 and zeros are plain 0", () => {
    expect(Object.is(micros("-0"), 0)).toBe(true);
    expect(Object.is(micros(-0), 0)).toBe(true);
    expect(micros("0.000000")).toBe(0);
    expect(micros("0e99")).toBe(0);
  });

  it("a non-zero value that rounds to zero micros is too_precise", () => {
    expect(parseMoneyToMicros("0.0000001")).toEqual({ ok: false, code: "too_precise" });
    expect(parseMoneyToMicros("0.0000005")).toEqual({ ok: false, code: "too_precise" }); // tie → even (0)
    expect(parseMoneyToMicros("1e-7")).toEqual({ ok: false, code: "too_precise" });
    expect(parseMoneyToMicros(1e-7)).toEqual({ ok: false, code: "too_precise" });
    expect(parseMoneyToMicros("1e-999999999")).toEqual({ ok: false, code: "too_precise" });
  });

  it("values beyond the safe-integer range of micros are out_of_range", () => {
    expect(parseMoneyToMicros(1e21)).toEqual({ ok: false, code: "out_of_range" });
    expect(parseMoneyToMicros("1e309")).toEqual({ ok: false, code: "out_of_range" });
    // JSON.parse turns the literal 1e309 into Infinity: the number was too large, not text.
    expect(parseMoneyToMicros(JSON.parse("1e309"))).toEqual({ ok: false, code: "out_of_range" });
    expect(parseMoneyToMicros(JSON.parse("-1e309"))).toEqual({ ok: false, code: "out_of_range" });
    expect(parseMoneyToMicros("9007199254.740992")).toEqual({ ok: false, code: "out_of_range" });
    expect(micros("9007199254.740991")).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseMoneyToMicros("-1e999999999")).toEqual({ ok: false, code: "out_of_range" });
    expect(parseMoneyToMicros(10n ** 12n)).toEqual({ ok: false, code: "out_of_range" });
  });

  it("anything that is not a finite number or a numeric string is not_numeric", () => {
    for (const value of [
      Number.NaN,
      "NaN",
      "Infinity",
      "-Infinity",
      "",
      " 1",
      "1 ",
      "0x10",
      "1,5",
      "1.2.3",
      "--1",
      "+-1",
      "e5",
      "1e",
      "1e+",
      ".",
      "-",
      "١٢",
      "1".repeat(65),
      null,
      undefined,
      true,
      {},
      [],
      [1],
    ]) {
      expect(parseMoneyToMicros(value), String(value)).toEqual({ ok: false, code: "not_numeric" });
    }
  });

  it("accepts bigint whole units", () => {
    expect(micros(12n)).toBe(12_000_000);
    expect(micros(-3n)).toBe(-3_000_000);
  });

  it("property: any decimal string converts exactly as BigInt half-even arithmetic says", () => {
    const decimal = fc
      .tuple(
        fc.constantFrom("", "-", "+"),
        fc.stringMatching(/^\d{0,12}$/),
        fc.option(fc.stringMatching(/^\d{0,14}$/), { nil: undefined }),
        fc.option(fc.integer({ min: -30, max: 30 }), { nil: undefined }),
      )
      .map(
        ([sign, int, frac, exp]) =>
          `${sign}${int}${frac === undefined ? "" : `.${frac}`}${exp === undefined ? "" : `e${exp}`}`,
      );
    fc.assert(
      fc.property(decimal, (text) => {
        const expected = referenceMicros(text);
        const actual = parseMoneyToMicros(text);
        if (expected.ok) expect(actual).toEqual({ ok: true, micros: Number(expected.micros) });
        else expect(actual).toEqual({ ok: false, code: expected.code });
      }),
      RUNS,
    );
  });

  it("property: any double converts as its shortest round-trip decimal String(n) does", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.double({ noNaN: true }), fc.double({ min: -1e4, max: 1e4, noNaN: true })),
        (value) => {
          const actual = parseMoneyToMicros(value);
          if (!Number.isFinite(value)) {
            expect(actual).toEqual({ ok: false, code: "out_of_range" });
            return;
          }
          const expected = referenceMicros(String(value));
          if (expected.ok) expect(actual).toEqual({ ok: true, micros: Number(expected.micros) });
          else expect(actual).toEqual({ ok: false, code: expected.code });
        },
      ),
      RUNS,
    );
  });

  it("property: sums of parsed decimal strings equal BigInt decimal sums", () => {
    const amount = fc
      .tuple(fc.boolean(), fc.integer({ min: 0, max: 9_999_999 }), fc.integer({ min: 0, max: 999_999 }))
      .map(([neg, units, frac]) =>
        `${neg ? "-" : ""}${units}.${String(frac).padStart(6, "0").replace(/0+$/, "")}`.replace(/\.$/, ""),
      );
    fc.assert(
      fc.property(fc.array(amount, { maxLength: 60 }), (texts) => {
        let sum = 0;
        let reference = 0n;
        for (const text of texts) {
          sum = addMicros(sum, micros(text));
          const expected = referenceMicros(text);
          if (!expected.ok) throw new Error(`reference rejected ${text}`);
          reference += expected.micros;
        }
        expect(BigInt(sum)).toBe(reference);
        expect(formatMicros(sum)).toBe(referenceFormat(reference));
      }),
      RUNS,
    );
  });

  it("property: float-noise JSON numbers (sums of two-decimal prices) still sum exactly", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 40 }),
        (cents) => {
          // What a producer doing float arithmetic would send: e.g. 0.1 + 0.2 = 0.30000000000000004.
          const floats = cents.map((c, i) => c / 100 + (i % 2 === 0 ? 0 : 0.1 + 0.2 - 0.3));
          const total = floats.reduce((acc, f) => addMicros(acc, micros(f)), 0);
          expect(total).toBe(cents.reduce((acc, c) => acc + c * 10_000, 0));
        },
      ),
      RUNS,
    );
  });
});

describe("parseExactMoneyToMicros (amounts a person types: never rounded)", () => {
  const decimal = fc
    .tuple(
      fc.constantFrom("", "-", "+"),
      fc.stringMatching(/^\d{0,12}$/),
      fc.option(fc.stringMatching(/^\d{0,14}$/), { nil: undefined }),
      fc.option(fc.integer({ min: -30, max: 30 }), { nil: undefined }),
    )
    .map(
      ([sign, int, frac, exp]) =>
        `${sign}${int}${frac === undefined ? "" : `.${frac}`}${exp === undefined ? "" : `e${exp}`}`,
    );

  it("refuses more than six non-zero decimals as too_precise, as text and as a number alike", () => {
    expect(parseExactMoneyToMicros("10.1234567")).toEqual({ ok: false, code: "too_precise" });
    expect(parseExactMoneyToMicros(10.1234567)).toEqual({ ok: false, code: "too_precise" });
    expect(parseExactMoneyToMicros("1e-7")).toEqual({ ok: false, code: "too_precise" });
    expect(parseExactMoneyToMicros(1e-7)).toEqual({ ok: false, code: "too_precise" });
    expect(parseExactMoneyToMicros("0.0000005")).toEqual({ ok: false, code: "too_precise" });
    // Zeros below the micro change nothing.
    expect(parseExactMoneyToMicros("10.1234560")).toEqual({ ok: true, micros: 10_123_456 });
    expect(parseExactMoneyToMicros("1234567e-6")).toEqual({ ok: true, micros: 1_234_567 });
    expect(parseExactMoneyToMicros(JSON.parse("1e309"))).toEqual({ ok: false, code: "out_of_range" });
  });

  it("property: equals the rounding parser whenever the amount is a whole number of micros", () => {
    fc.assert(
      fc.property(decimal, (text) => {
        const expected = referenceMicros(text, true);
        const actual = parseExactMoneyToMicros(text);
        if (expected.ok) {
          expect(actual).toEqual({ ok: true, micros: Number(expected.micros) });
          expect(parseMoneyToMicros(text)).toEqual(actual);
        } else expect(actual).toEqual({ ok: false, code: expected.code });
      }),
      RUNS,
    );
  });

  it("property: any micros amount plus one non-zero digit below the micro is too_precise", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 15 }), fc.integer({ min: 1, max: 9 }), (m, digit) => {
        expect(parseExactMoneyToMicros(`${formatMicros(m)}${digit}`)).toEqual({
          ok: false,
          code: "too_precise",
        });
        expect(parseExactMoneyToMicros(`${formatMicros(m)}0`)).toEqual({ ok: true, micros: m });
      }),
      RUNS,
    );
  });
});

describe("formatMicros and microsToNumberString", () => {
  it("formats NUMERIC(20,6) text", () => {
    expect(formatMicros(500_000)).toBe("0.500000");
    expect(formatMicros(0)).toBe("0.000000");
    expect(formatMicros(-1)).toBe("-0.000001");
    expect(formatMicros(-1_500_000)).toBe("-1.500000");
    expect(formatMicros(Number.MAX_SAFE_INTEGER)).toBe("9007199254.740991");
    expect(microsToNumberString(500_000)).toBe("0.5");
    expect(microsToNumberString(1_000_000_000)).toBe("1000");
    expect(microsToNumberString(-250_000)).toBe("-0.25");
    expect(microsToNumberString(0)).toBe("0");
    expect(microsToNumberString(10_000_000)).toBe("10");
  });

  it("throws CoreError unsafe_integer on non-integers", () => {
    expect(() => formatMicros(0.5)).toThrow(CoreError);
    expect(() => formatMicros(Number.NaN)).toThrowError(
      expect.objectContaining({ code: "ADP_CORE_UNSAFE_INTEGER" }),
    );
  });

  it("property: format → parse round trips every safe integer (both text forms)", () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), (m) => {
        expect(micros(formatMicros(m))).toBe(m);
        expect(micros(microsToNumberString(m))).toBe(m);
        expect(formatMicros(m)).toBe(referenceFormat(BigInt(m)));
      }),
      RUNS,
    );
  });
});

describe("addMicros, subtractMicros, unitsToMicros", () => {
  it("adds exactly and refuses to leave the safe range", () => {
    expect(addMicros(100_000, 200_000)).toBe(300_000);
    expect(subtractMicros(100_000, 300_000)).toBe(-200_000);
    expect(() => addMicros(Number.MAX_SAFE_INTEGER, 1)).toThrowError(
      expect.objectContaining({ name: "CoreError", code: "ADP_CORE_UNSAFE_INTEGER" }),
    );
    expect(() => addMicros(0.5, 1)).toThrow(CoreError);
    expect(() => addMicros(1, Number.NaN)).toThrow(CoreError);
  });

  it("converts whole units", () => {
    expect(unitsToMicros(1000)).toBe(1000 * MICROS_PER_UNIT);
    expect(() => unitsToMicros(1.5)).toThrowError(
      expect.objectContaining({ code: "ADP_CORE_INVALID_MONEY" }),
    );
    expect(() => unitsToMicros(1e10)).toThrowError(
      expect.objectContaining({ code: "ADP_CORE_UNSAFE_INTEGER" }),
    );
  });
});
