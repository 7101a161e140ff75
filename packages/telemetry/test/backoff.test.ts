import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backoffDelayMs } from "../src/backoff.js";

describe("backoffDelayMs", () => {
  it("doubles from the initial delay up to the cap (no jitter)", () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1_000, jitter: 0 };
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelayMs(attempt, options))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
  });

  it("uses 1 s doubling to 30 s by default", () => {
    const middle = () => 0.5;
    expect(backoffDelayMs(1, {}, middle)).toBe(1_000);
    expect(backoffDelayMs(100, {}, middle)).toBe(30_000);
  });

  it("stays within ±jitter of the base, never negative, never above the cap", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -5, max: 10_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: 0, max: 120_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.9999999, noNaN: true }),
        (attempt, initialDelayMs, maxDelayMs, jitter, random) => {
          const delay = backoffDelayMs(attempt, { initialDelayMs, maxDelayMs, jitter }, () => random);
          const base = Math.min(initialDelayMs * 2 ** Math.min(Math.max(attempt - 1, 0), 30), maxDelayMs);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(maxDelayMs);
          expect(Math.abs(delay - Math.min(base, maxDelayMs))).toBeLessThanOrEqual(base * jitter + 1);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("without jitter, doubles exactly like a loop that doubles its own delay up to a cap", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600_000 }),
        fc.integer({ min: 1, max: 600_000 }),
        (initialDelayMs, maxDelayMs) => {
          fc.pre(initialDelayMs <= maxDelayMs);
          const options = { initialDelayMs, maxDelayMs, jitter: 0 };
          let delay = initialDelayMs;
          for (let attempt = 1; attempt <= 40; attempt++) {
            expect(backoffDelayMs(attempt, options)).toBe(delay);
            delay = Math.min(delay * 2, maxDelayMs);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it("expresses capped powers of two of the attempt (a service waiting on one dependency)", () => {
    const attempts = Array.from({ length: 40 }, (_, i) => i + 1);
    expect(
      attempts.map((n) => backoffDelayMs(n, { initialDelayMs: 500, maxDelayMs: 5_000, jitter: 0 })),
    ).toEqual(attempts.map((n) => Math.min(5_000, 250 * 2 ** n)));
    expect(
      attempts.map((n) => backoffDelayMs(n, { initialDelayMs: 1_000, maxDelayMs: 30_000, jitter: 0 })),
    ).toEqual(attempts.map((n) => Math.min(30_000, 500 * 2 ** Math.min(n, 6))));
  });
});
