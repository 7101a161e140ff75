import type { GeneratedRecord } from "@adpipe/core";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { chunkByBytes, recordBytes } from "../../src/sinks/sink.js";

const record = (size: number, key: string | null = "adv-1"): GeneratedRecord => ({
  key,
  value: new Uint8Array(size),
  timestampMs: 0,
  kind: "click",
});

describe("chunkByBytes", () => {
  test("keeps order, keeps every record, and stays under the limit (a single larger record goes alone)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5_000 }), { maxLength: 200 }),
        fc.integer({ min: 100, max: 20_000 }),
        (sizes, limit) => {
          const records = sizes.map((size) => record(size));
          const chunks = chunkByBytes(records, limit);
          expect(chunks.flat()).toEqual(records);
          for (const chunk of chunks) {
            expect(chunk.length).toBeGreaterThan(0);
            const bytes = chunk.reduce((sum, r) => sum + recordBytes(r), 0);
            if (chunk.length > 1) expect(bytes).toBeLessThanOrEqual(limit);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  test("counts key and per-record overhead", () => {
    expect(recordBytes(record(100, "abc"))).toBe(127);
    expect(recordBytes(record(100, null))).toBe(124);
  });
});
