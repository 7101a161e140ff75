import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ALERT_KINDS,
  alertEventSchema,
  alertThresholds,
  crossedThresholds,
  DEFAULT_ALERT_THRESHOLDS_PCT,
  MAX_ALERT_THRESHOLD_PCT,
} from "../src/alerts.js";
import { isCoreError } from "../src/errors.js";

const RUNS = { numRuns: 1_000 };
const micros = fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
const budget = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const thresholds = fc.uniqueArray(fc.integer({ min: 1, max: MAX_ALERT_THRESHOLD_PCT }), {
  minLength: 1,
  maxLength: 10,
});

describe("crossedThresholds", () => {
  it("is exactly the thresholds t with net × 100 ≥ t × budget (checked in BigInt)", () => {
    fc.assert(
      fc.property(micros, budget, thresholds, (net, budgetMicros, list) => {
        const expected = [...list]
          .sort((a, b) => a - b)
          .filter((t) => BigInt(net) * 100n >= BigInt(t) * BigInt(budgetMicros));
        expect(crossedThresholds(net, budgetMicros, list)).toEqual(expected);
      }),
      RUNS,
    );
  });

  it("is monotone in the net: more spend never un-crosses a threshold", () => {
    fc.assert(
      fc.property(micros, fc.nat({ max: 1e12 }), budget, thresholds, (net, more, budgetMicros, list) => {
        const higher = Math.min(Number.MAX_SAFE_INTEGER, net + more);
        const before = crossedThresholds(net, budgetMicros, list);
        const after = crossedThresholds(higher, budgetMicros, list);
        for (const t of before) expect(after).toContain(t);
      }),
      RUNS,
    );
  });

  it("crosses a threshold at its exact micro and not one micro before", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1e12 }), fc.constantFrom(50, 80, 100), (b, t) => {
        // Multiples of 100 make t % of the budget a whole number of micros.
        const budgetMicros = b * 100;
        const at = (budgetMicros / 100) * t;
        expect(crossedThresholds(at, budgetMicros, [t])).toEqual([t]);
        expect(crossedThresholds(at - 1, budgetMicros, [t])).toEqual([]);
      }),
      RUNS,
    );
  });

  it("fires nothing without a positive budget", () => {
    fc.assert(
      fc.property(micros, fc.constantFrom(null, 0, -5), (net, none) => {
        expect(crossedThresholds(net, none, DEFAULT_ALERT_THRESHOLDS_PCT)).toEqual([]);
      }),
      RUNS,
    );
  });

  it("defaults to 50, 80 and 100 %", () => {
    expect(crossedThresholds(1_000_000, 1_000_000, DEFAULT_ALERT_THRESHOLDS_PCT)).toEqual([50, 80, 100]);
    expect(crossedThresholds(799_999, 1_000_000, DEFAULT_ALERT_THRESHOLDS_PCT)).toEqual([50]);
  });
});

describe("alertThresholds", () => {
  it("sorts a valid list and refuses every invalid one loudly", () => {
    fc.assert(
      fc.property(thresholds, (list) => {
        expect(alertThresholds(list)).toEqual([...list].sort((a, b) => a - b));
      }),
      RUNS,
    );
    for (const bad of [[], [0], [1001], [50, 50], [12.5], Array.from({ length: 11 }, (_, i) => i + 1)]) {
      let caught: unknown;
      try {
        alertThresholds(bad);
      } catch (error) {
        caught = error;
      }
      expect(isCoreError(caught) && caught.code === "ADP_CORE_INVALID_OPTIONS").toBe(true);
    }
  });
});

describe("alertEventSchema", () => {
  it("accepts the documented example and every kind", () => {
    for (const kind of ALERT_KINDS) {
      const event = {
        schema_version: 1,
        event_id: "0b6f1c53-2b8e-4f0e-9a51-6a3a3b0c2f11",
        kind,
        advertiser_id: "adv-7",
        advertiser: "Advertiser 7",
        budget_period: "2026-12-05",
        period_start: "2026-12-05T00:00:00.000Z",
        period_end: "2026-12-06T00:00:00.000Z",
        threshold_pct: kind === "budget_threshold" ? 80 : 0,
        period_net_micros: "80000000",
        budget_micros: "100000000",
        fired_at: "2026-12-05T14:03:07.120Z",
      };
      expect(alertEventSchema.parse(event)).toEqual(event);
    }
    expect(alertEventSchema.safeParse({ schema_version: 2 }).success).toBe(false);
  });
});
