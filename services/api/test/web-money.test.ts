import { formatMicros } from "@adpipe/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decimalToMicros, displayMoney, microsToDecimal } from "../web/src/money.js";

describe("dashboard money (exact decimal strings from the API)", () => {
  it("reads the API's six-decimal strings to the same micros and writes them back identically", () => {
    fc.assert(
      fc.property(fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), (micros) => {
        const text = formatMicros(micros);
        expect(decimalToMicros(text)).toBe(BigInt(micros));
        expect(microsToDecimal(BigInt(micros))).toBe(text);
      }),
      { numRuns: 1000 },
    );
  });

  it("sums exactly where floats would drift", () => {
    const sum = ["0.100000", "0.200000", "0.300000"].reduce(
      (total, text) => total + decimalToMicros(text),
      0n,
    );
    expect(microsToDecimal(sum)).toBe("0.600000");
  });

  it("displays two decimals, half up, with grouped thousands", () => {
    expect(displayMoney(1_234_567_890n)).toBe("1,234.57");
    expect(displayMoney(5_000n)).toBe("0.01");
    expect(displayMoney(4_999n)).toBe("0.00");
    expect(displayMoney(-2_500_000n)).toBe("-2.50");
  });

  it("treats missing values as zero", () => {
    expect(decimalToMicros(null)).toBe(0n);
    expect(decimalToMicros("")).toBe(0n);
  });
});
