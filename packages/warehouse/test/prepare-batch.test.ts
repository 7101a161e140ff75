import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { prepareBatch, prepareBatchInSlices } from "../src/batch-writer.js";
import { bronzeCopyRows } from "../src/bronze-copy.js";
import type { KafkaRecord } from "../src/records.js";

const T = Date.UTC(2026, 10, 25, 23, 30);

const payload = fc.oneof(
  fc
    .record({
      clickId: fc.string({ minLength: 1, maxLength: 12 }),
      amount: fc.integer({ min: -5, max: 5_000_000 }),
      advertiser: fc.constantFrom("Acme", "Büro", "a\u0000b", ""),
      lateMs: fc.integer({ min: -3_600_000, max: 90_000_000 }),
    })
    .map(({ clickId, amount, advertiser, lateMs }) =>
      JSON.stringify({
        event_type: "ad_click",
        click_id: clickId,
        advertiser,
        amount: amount / 1_000_000,
        timestamp: T - lateMs,
      }),
    ),
  fc.string({ maxLength: 40 }),
  fc.constant(null),
);

/** Records of up to two partitions, each in offset order (a fetch's slice), possibly with a replayed offset. */
const records = fc
  .array(fc.record({ partition: fc.integer({ min: 0, max: 1 }), step: fc.nat(2), payload }), {
    maxLength: 60,
  })
  .map((items) => {
    const next = [0, 0];
    return items.map(({ partition, step, payload: json }): KafkaRecord => {
      const offset = (next[partition] ?? 0) + step - 1;
      next[partition] = Math.max(0, offset) + 1;
      return {
        topic: "t",
        partition,
        offset: String(Math.max(0, offset)),
        timestampMs: T + offset,
        key: null,
        value: json === null ? null : Buffer.from(json),
      };
    });
  });

describe("prepareBatch / prepareBatchInSlices", () => {
  it("parsing in slices with turns of the event loop gives the same prepared batch as at once", async () => {
    await fc.assert(
      fc.asyncProperty(
        records,
        fc.integer({ min: 1, max: 70 }),
        fc.nat(2),
        fc.integer({ min: 4, max: 1_000 }),
        async (list, slice, generation, maxStoredPayloadBytes) => {
          const batch = { pipeline: "p", records: list, generation };
          const options = { maxStoredPayloadBytes };
          const whole = prepareBatch(batch, options);
          const sliced = await prepareBatchInSlices(batch, options, slice);
          expect(sliced.parsed).toEqual(whole.parsed);
          expect(sliced.bronzeRows).toEqual(whole.bronzeRows);
          expect(sliced.maxStoredPayloadBytes).toBe(maxStoredPayloadBytes);
          // The prepared Bronze rows are those writeBatch built from the records it writes (all of them fresh).
          expect(whole.bronzeRows).toEqual(
            whole.parsed.length === 0 ? null : bronzeCopyRows(whole.parsed, maxStoredPayloadBytes),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
