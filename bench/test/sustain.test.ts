import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GOLD_P99_LIMIT_MS, sustainVerdict } from "../lib/sustain.js";

const healthy = { rate: 10_000, achievedRate: 9_990, caughtUp: { gold: true, redis: true }, goldP99Ms: 600 };

describe("sustainVerdict", () => {
  it("passes a run that held the rate, caught up and kept Gold p99 within the limit", () => {
    expect(sustainVerdict(healthy)).toEqual({ sustained: true, reasons: [] });
    expect(sustainVerdict({ ...healthy, goldP99Ms: GOLD_P99_LIMIT_MS }).sustained).toBe(true);
  });

  it("names every reason a run did not sustain its rate", () => {
    const verdict = sustainVerdict({
      rate: 20_000,
      achievedRate: 15_000,
      caughtUp: { gold: false, redis: false },
      goldP99Ms: 25_000,
    });
    expect(verdict.sustained).toBe(false);
    expect(verdict.reasons).toEqual([
      "the producer reached 15,000/s of 20,000/s offered",
      "the Gold path fell behind",
      "the Redis path fell behind",
      "Gold p99 25,000 ms > 2,000 ms",
    ]);
  });

  it("fails a run with no Gold latency at all (NaN) rather than passing it", () => {
    expect(sustainVerdict({ ...healthy, goldP99Ms: Number.NaN }).sustained).toBe(false);
    expect(sustainVerdict({ ...healthy, achievedRate: Number.NaN }).sustained).toBe(false);
  });

  it("sustained exactly when every condition holds", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.double({ min: 0, max: 1.2, noNaN: true }),
        fc.boolean(),
        fc.boolean(),
        fc.double({ min: 0, max: 10_000, noNaN: true }),
        (rate, share, gold, redis, goldP99Ms) => {
          const outcome = { rate, achievedRate: rate * share, caughtUp: { gold, redis }, goldP99Ms };
          const expected = rate * share >= rate * 0.95 && gold && redis && goldP99Ms <= GOLD_P99_LIMIT_MS;
          const verdict = sustainVerdict(outcome);
          expect(verdict.sustained).toBe(expected);
          expect(verdict.reasons.length === 0).toBe(expected);
        },
      ),
    );
  });
});
