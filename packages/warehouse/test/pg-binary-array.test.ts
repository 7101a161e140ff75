import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PG_ELEMENT_TYPES, PgBinaryArray, pgBinaryArray } from "../src/pg-binary-array.js";

/** A reference reader of the binary array format (Postgres' array_recv for one dimension). */
function readBinaryArray(buffer: Buffer): { oid: number; elements: (Buffer | null)[] } {
  const ndim = buffer.readInt32BE(0);
  const hasNull = buffer.readInt32BE(4);
  const oid = buffer.readInt32BE(8);
  if (ndim === 0) {
    expect(buffer.length).toBe(12);
    return { oid, elements: [] };
  }
  expect(ndim).toBe(1);
  const count = buffer.readInt32BE(12);
  expect(buffer.readInt32BE(16)).toBe(1);
  const elements: (Buffer | null)[] = [];
  let offset = 20;
  for (let i = 0; i < count; i++) {
    const length = buffer.readInt32BE(offset);
    offset += 4;
    if (length === -1) {
      elements.push(null);
      continue;
    }
    elements.push(buffer.subarray(offset, offset + length));
    offset += length;
  }
  expect(offset).toBe(buffer.length);
  expect(hasNull).toBe(elements.includes(null) ? 1 : 0);
  return { oid, elements };
}

describe("PgBinaryArray: Postgres binary arrays for the batch statements", () => {
  it("writes an empty array as ndim 0 with the element type", () => {
    expect(readBinaryArray(pgBinaryArray("int8", []))).toEqual({ oid: PG_ELEMENT_TYPES.int8, elements: [] });
  });

  it("text elements are their UTF-8 bytes, nulls are length -1", () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.string({ unit: "grapheme" }), { nil: null }), { maxLength: 20 }),
        (values) => {
          const { oid, elements } = readBinaryArray(pgBinaryArray("text", values));
          expect(oid).toBe(PG_ELEMENT_TYPES.text);
          expect(elements.map((e) => (e === null ? null : e.toString("utf8")))).toEqual(values);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("int8 elements are 64-bit two's complement of any safe integer; int4 of any 32-bit one", () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.maxSafeInteger(), { nil: null }), { maxLength: 20 }),
        fc.array(fc.integer(), { maxLength: 20 }),
        (longs, ints) => {
          const int8 = readBinaryArray(pgBinaryArray("int8", longs));
          expect(int8.elements.map((e) => (e === null ? null : Number(e.readBigInt64BE(0))))).toEqual(longs);
          const int4 = readBinaryArray(pgBinaryArray("int4", ints));
          expect(int4.elements.map((e) => e?.readInt32BE(0))).toEqual(ints);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("bigints and decimal strings (Kafka offsets) as int8; booleans as one byte; bytes as they are", () => {
    const offsets = readBinaryArray(pgBinaryArray("int8", [0n, "9223372036854775807", 42n]));
    expect(offsets.elements.map((e) => e?.readBigInt64BE(0))).toEqual([0n, 9223372036854775807n, 42n]);
    const booleans = readBinaryArray(pgBinaryArray("bool", [true, null, false]));
    expect(booleans.elements.map((e) => (e === null ? null : [...e]))).toEqual([[1], null, [0]]);
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (blobs) => {
        const { elements } = readBinaryArray(pgBinaryArray("bytea", blobs));
        expect(elements.map((e) => [...(e ?? [])])).toEqual(blobs.map((b) => [...b]));
      }),
      { numRuns: 1000 },
    );
  });

  it("grows past its initial estimate", () => {
    const array = new PgBinaryArray("text", 1);
    const values = Array.from({ length: 500 }, (_, i) => `value ${i} ✓`);
    for (const value of values) array.text(value);
    expect(readBinaryArray(array.build()).elements.map((e) => e?.toString("utf8"))).toEqual(values);
  });

  it("refuses numbers it cannot represent instead of sending a wrong one", () => {
    expect(() => pgBinaryArray("int8", [Number.NaN])).toThrow(RangeError);
    expect(() => pgBinaryArray("int8", [2 ** 53])).toThrow(RangeError);
    expect(() => pgBinaryArray("int8", [1.5])).toThrow(RangeError);
    expect(() => pgBinaryArray("int4", [2 ** 31])).toThrow(RangeError);
  });
});
