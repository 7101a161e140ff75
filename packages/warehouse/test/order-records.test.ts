import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { orderRecords } from "../src/batch-writer.js";
import type { ParsedRecord } from "../src/derive.js";

/** The order and de-duplication orderRecords promises, written the plain way. */
function reference(records: readonly ParsedRecord[]): ParsedRecord[] {
  const sorted = [...records].sort((a, b) =>
    a.topic !== b.topic
      ? a.topic < b.topic
        ? -1
        : 1
      : a.partition !== b.partition
        ? a.partition - b.partition
        : a.offset < b.offset
          ? -1
          : a.offset > b.offset
            ? 1
            : 0,
  );
  const seen = new Set<string>();
  return sorted.filter((r) => {
    const key = `${r.topic}/${r.partition}/${r.offset}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

const record = fc
  .record({
    topic: fc.constantFrom("a", "b"),
    partition: fc.integer({ min: 0, max: 3 }),
    offset: fc.bigInt({ min: 0n, max: 20n }),
    tag: fc.nat(),
  })
  .map((r) => r as unknown as ParsedRecord);

describe("orderRecords", () => {
  it("sorts by (topic, partition, offset) and keeps the first record given of each offset", () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 40 }), (records) => {
        expect(orderRecords(records)).toEqual(reference(records));
      }),
      { numRuns: 500 },
    );
  });

  it("returns records already in order as they are (a fetch's partition batch)", () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 40 }), (records) => {
        const ordered = reference(records);
        expect(orderRecords(ordered)).toEqual(ordered);
      }),
      { numRuns: 200 },
    );
  });
});
