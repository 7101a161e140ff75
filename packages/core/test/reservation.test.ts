import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { billableMicros } from "../src/billing.js";
import { BUDGET_MODES } from "../src/contract.js";
import { appliedWatermark, mayReserve, reservableMicros, reservationExpired } from "../src/reservation.js";
import { decideServing } from "../src/spend.js";

const RUNS = { numRuns: 1_000 };
const micros = fc.integer({ min: 0, max: 2_000_000_000 });
const cost = fc.integer({ min: 1, max: 50_000_000 });

const state = fc.record({
  mode: fc.constantFrom(...BUDGET_MODES),
  paused: fc.boolean(),
  budgetMicros: fc.option(micros, { nil: null }),
  netMicros: micros,
  reservedMicros: micros,
});

describe("mayReserve: the admission rule", () => {
  it("grants hard_cap reservations exactly when net + outstanding + maxCost fits under a serving budget", () => {
    fc.assert(
      fc.property(state, cost, (s, maxCost) => {
        const decision = mayReserve({ ...s, mode: "hard_cap" }, maxCost);
        const serving = decideServing({
          periodNetMicros: s.netMicros,
          budgetMicros: s.budgetMicros,
          paused: s.paused,
        });
        if (!serving.canServe) {
          expect(decision).toEqual({ granted: false, reason: serving.reason });
          return;
        }
        const fits = s.netMicros + s.reservedMicros + maxCost <= (s.budgetMicros as number);
        expect(decision).toEqual(
          fits ? { granted: true, reason: null } : { granted: false, reason: "insufficient_budget" },
        );
      }),
      RUNS,
    );
  });

  it("answers observe from the serving decision alone, whatever is reserved or asked", () => {
    fc.assert(
      fc.property(state, cost, (s, maxCost) => {
        const serving = decideServing({
          periodNetMicros: s.netMicros,
          budgetMicros: s.budgetMicros,
          paused: s.paused,
        });
        const decision = mayReserve({ ...s, mode: "observe" }, maxCost);
        expect(decision.granted).toBe(serving.canServe);
        expect(decision.reason).toBe(serving.reason);
      }),
      RUNS,
    );
  });

  it("reservableMicros is what a hard_cap grant may still take, never negative", () => {
    fc.assert(
      fc.property(state, cost, (s, maxCost) => {
        const left = reservableMicros({ ...s, mode: "hard_cap" });
        if (s.budgetMicros === null) {
          expect(left).toBeNull();
          return;
        }
        expect(left).toBeGreaterThanOrEqual(0);
        const granted = mayReserve({ ...s, mode: "hard_cap", paused: false }, maxCost).granted;
        if (s.budgetMicros > 0)
          expect(granted).toBe(maxCost <= (left as number) && s.netMicros < s.budgetMicros);
      }),
      RUNS,
    );
  });

  it("expires by the applied watermark only: strictly before it", () => {
    fc.assert(
      fc.property(micros, micros, (expiry, watermark) => {
        expect(reservationExpired(expiry, watermark)).toBe(expiry < watermark);
      }),
      RUNS,
    );
  });
});

type Op =
  | { kind: "reserve"; id: number; maxCost: number }
  | { kind: "settle"; id: number; fraction: number }
  | { kind: "release"; id: number }
  | { kind: "expire"; id: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("reserve" as const), id: fc.nat(30), maxCost: cost }),
  fc.record({
    kind: fc.constant("settle" as const),
    id: fc.nat(30),
    fraction: fc.double({ min: 0, max: 1, noNaN: true }),
  }),
  fc.record({ kind: fc.constant("release" as const), id: fc.nat(30) }),
  fc.record({ kind: fc.constant("expire" as const), id: fc.nat(30) }),
);

describe("grant / settle / release / expire in any order (hard_cap model)", () => {
  it("keeps net + outstanding <= budget, and a settled click never goes over the cap", () => {
    fc.assert(
      fc.property(micros, fc.array(op, { maxLength: 200 }), (budget, ops) => {
        let net = 0;
        const outstanding = new Map<number, number>();
        const reserved = () => [...outstanding.values()].reduce((a, b) => a + b, 0);
        for (const step of ops) {
          if (step.kind === "reserve") {
            if (outstanding.has(step.id)) continue;
            const decision = mayReserve(
              {
                mode: "hard_cap",
                paused: false,
                budgetMicros: budget,
                netMicros: net,
                reservedMicros: reserved(),
              },
              step.maxCost,
            );
            if (decision.granted) outstanding.set(step.id, step.maxCost);
          } else if (step.kind === "settle") {
            const maxCost = outstanding.get(step.id);
            // Clicks without an outstanding reservation are not served under the guarantee.
            if (maxCost === undefined) continue;
            // The click costs at most its reservation's maxCost (the guarantee's condition).
            const price = Math.floor(maxCost * step.fraction);
            outstanding.delete(step.id);
            const billable = billableMicros("hard_cap", budget, net, price);
            expect(billable).toBe(price);
            net += billable;
          } else {
            outstanding.delete(step.id);
          }
          expect(net + reserved()).toBeLessThanOrEqual(budget);
        }
      }),
      RUNS,
    );
  });
});

describe("appliedWatermark", () => {
  const partition = fc.record({
    partition: fc.nat(20),
    logEndOffset: fc.nat(1_000),
    appliedOffset: fc.option(fc.nat(1_000), { nil: null }),
    watermarkMs: fc.option(micros, { nil: null }),
  });

  it("is the lowest partition watermark; caught-up partitions count as the check time; unknown holds expiry", () => {
    expect(appliedWatermark([], 10)).toBeNull();
    const lagging = { partition: 0, logEndOffset: 10, appliedOffset: 5, watermarkMs: 100 };
    const idle = { partition: 1, logEndOffset: 7, appliedOffset: 7, watermarkMs: 50 };
    const empty = { partition: 2, logEndOffset: 0, appliedOffset: null, watermarkMs: null };
    const unapplied = { partition: 3, logEndOffset: 4, appliedOffset: null, watermarkMs: null };
    expect(appliedWatermark([lagging, idle, empty], 1_000)).toBe(100);
    expect(appliedWatermark([idle, empty], 1_000)).toBe(1_000);
    expect(appliedWatermark([lagging, unapplied], 1_000)).toBeNull();
  });

  it("never passes the newest timestamp applied of a partition that still has records to apply", () => {
    fc.assert(
      fc.property(fc.array(partition, { minLength: 1, maxLength: 8 }), micros, (partitions, checkedAt) => {
        const watermark = appliedWatermark(partitions, checkedAt);
        for (const p of partitions) {
          const behind = p.logEndOffset > 0 && (p.appliedOffset === null || p.appliedOffset < p.logEndOffset);
          if (behind && watermark !== null) expect(watermark).toBeLessThanOrEqual(p.watermarkMs as number);
          if (behind && p.watermarkMs === null) expect(watermark).toBeNull();
        }
        if (watermark !== null)
          expect(watermark).toBeLessThanOrEqual(
            Math.max(checkedAt, ...partitions.map((p) => p.watermarkMs ?? 0)),
          );
      }),
      RUNS,
    );
  });
});
