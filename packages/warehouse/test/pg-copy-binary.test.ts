import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pgBinaryArray } from "../src/pg-binary-array.js";
import { PgCopyBinary, writeUtf8 } from "../src/pg-copy-binary.js";

const anyString = fc.oneof(
  fc.string({ unit: "binary" }),
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 200 }),
  // Lone surrogates: Buffer#write replaces them with U+FFFD; so must the fast path.
  fc.constantFrom("\ud800", "a\udc00b", "x".repeat(64), `${"y".repeat(63)}é`, ""),
);

describe("writeUtf8", () => {
  it("writes exactly Buffer.from(value, 'utf8') and returns its length, at any offset", () => {
    fc.assert(
      fc.property(anyString, fc.nat({ max: 7 }), (value, at) => {
        const expected = Buffer.from(value, "utf8");
        const buffer = Buffer.alloc(at + value.length * 3 + 1, 0xaa);
        expect(writeUtf8(buffer, value, at)).toBe(expected.length);
        expect(buffer.subarray(at, at + expected.length)).toEqual(expected);
        expect(buffer.subarray(0, at).every((b) => b === 0xaa)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe("PgCopyBinary.textArray", () => {
  it("is a field holding what pgBinaryArray('text', values) builds", () => {
    fc.assert(
      fc.property(fc.array(anyString, { maxLength: 6 }), (values) => {
        const rows = new PgCopyBinary(8);
        rows.row(1);
        rows.textArray(values);
        const data = rows.build();
        const array = pgBinaryArray("text", values);
        // 19-byte header, int16 field count, int32 field length, the array, int16 -1 trailer.
        expect(data.readInt32BE(21)).toBe(array.length);
        expect(data.subarray(25, 25 + array.length)).toEqual(array);
        expect(data.length).toBe(25 + array.length + 2);
      }),
      { numRuns: 300 },
    );
  });
});
