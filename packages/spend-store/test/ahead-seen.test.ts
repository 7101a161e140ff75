import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseAheadSeen } from "../src/ahead-of-pace.js";

// `_ahead_seen` as apply_slice.lua writes it: "<period id>|<period start ms>|<net micros>|<budget micros>".
describe("parseAheadSeen", () => {
  it("reads back every field apply_slice writes (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((s) => !s.includes("|")),
        fc.integer({ min: 0, max: 2 ** 45 }),
        fc.maxSafeNat(),
        fc.maxSafeNat(),
        (periodId, periodStartMs, netMicros, budgetMicros) => {
          const field = `${periodId}|${periodStartMs}|${netMicros}|${budgetMicros}`;
          expect(parseAheadSeen(field)).toEqual({ periodId, periodStartMs, netMicros, budgetMicros });
        },
      ),
    );
  });

  it("refuses an absent or malformed field", () => {
    for (const field of [
      null,
      "",
      "2026-07-01",
      "2026-07-01|1|2",
      "|1|2|3",
      "2026-07-01|x|2|3",
      "p|1|2|3|4",
    ]) {
      expect(parseAheadSeen(field)).toBeNull();
    }
  });
});
