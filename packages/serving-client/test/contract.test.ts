import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  advertiserIdFromKey,
  advertiserKey,
  PUBLIC_FIELDS,
  type PublicField,
  parseServingChangeMessage,
  parseServingState,
  servingChangesChannel,
} from "../src/contract.js";

/** HMGET values in PUBLIC_FIELDS order: the given fields, null for the others. */
function hmgetOf(fields: Partial<Record<PublicField, string>>): (string | null)[] {
  return PUBLIC_FIELDS.map((field) => fields[field] ?? null);
}

/** A serving advertiser with an api budget of 5 and no mode, forecast or calendar fields. */
const SERVED = {
  can_serve: "1",
  period: "d",
  net_micros: "0",
  gross_micros: "0",
  budget_micros: "5",
  clicks: "0",
  updated_at: "1",
  budget_source: "api",
} as const;

describe("the Redis contract", () => {
  it("names the hash adspend:adv:{id} and the channel adspend:serving-changes by default", () => {
    expect(advertiserKey("123")).toBe("adspend:adv:{123}");
    expect(advertiserKey("123", "x:")).toBe("x:adv:{123}");
    expect(servingChangesChannel()).toBe("adspend:serving-changes");
    expect(() => advertiserKey("")).toThrow(
      expect.objectContaining({ code: "ADP_SERVING_CLIENT_INVALID_ADVERTISER_ID" }),
    );
    expect(() => advertiserKey("x".repeat(129))).toThrow(
      expect.objectContaining({ code: "ADP_SERVING_CLIENT_INVALID_ADVERTISER_ID" }),
    );
    expect(() => advertiserKey("a\u0000b")).toThrow(
      expect.objectContaining({ code: "ADP_SERVING_CLIENT_INVALID_ADVERTISER_ID" }),
    );
    // Braces and % are encoded inside the hash tag; other ids keep their names.
    expect(advertiserKey("adv{x}")).toBe("adspend:adv:{adv%7Bx%7D}");
    expect(advertiserIdFromKey("adspend:adv:{adv%7Bx%7D}")).toBe("adv{x}");
    expect(advertiserIdFromKey(advertiserKey("100%25"))).toBe("100%25");
  });

  it("parses HMGET values in PUBLIC_FIELDS order; all-null means unknown", () => {
    expect(PUBLIC_FIELDS[0]).toBe("can_serve");
    expect(
      parseServingState(
        "a",
        PUBLIC_FIELDS.map(() => null),
      ),
    ).toBeNull();
    expect(
      parseServingState("a", [
        "0",
        "budget_exhausted",
        "2026-11-25",
        "10",
        "12",
        "10",
        "3",
        "1700000000000",
        "api",
        "hard_cap",
        "4",
        "2026-11-25T18:30:00.000Z",
        "12000000",
        "hour",
        "Asia/Kolkata",
      ]),
    ).toEqual({
      advertiserId: "a",
      canServe: false,
      reason: "budget_exhausted",
      period: "2026-11-25",
      netMicros: 10,
      grossMicros: 12,
      budgetMicros: 10,
      budgetSource: "api",
      mode: "hard_cap",
      overCapMicros: 4,
      forecastExhaustedAtMs: Date.UTC(2026, 10, 25, 18, 30),
      forecastPeriodSpendMicros: 12_000_000,
      budgetPeriod: "hour",
      timeZone: "Asia/Kolkata",
      pacing: "asap",
      serveFraction: 0,
      trafficShape: null,
      clicks: 3,
      updatedAtMs: 1_700_000_000_000,
    });
    // Pacing and serve_fraction as the tracker writes them; a malformed fraction is refused.
    expect(
      parseServingState("a", hmgetOf({ ...SERVED, pacing: "even", serve_fraction: "0.2500" })),
    ).toMatchObject({ canServe: true, pacing: "even", serveFraction: 0.25 });
    expect(
      parseServingState(
        "a",
        hmgetOf({
          ...SERVED,
          can_serve: "0",
          reason: "ahead_of_pace",
          net_micros: "3",
          gross_micros: "3",
          clicks: "1",
          pacing: "shaped",
          serve_fraction: "0",
        }),
      ),
    ).toMatchObject({ canServe: false, reason: "ahead_of_pace", pacing: "shaped", serveFraction: 0 });
    // A shaped advertiser's learnt shape (`_shape`); none when not shaped, malformed or not learnt yet.
    const shape = Array.from({ length: 24 }, (_, h) => (h < 12 ? 800 : 33));
    expect(
      parseServingState("a", hmgetOf({ ...SERVED, pacing: "shaped", _shape: shape.join(",") }))?.trafficShape,
    ).toEqual(shape);
    expect(
      parseServingState("a", hmgetOf({ ...SERVED, pacing: "even", _shape: shape.join(",") }))?.trafficShape,
    ).toBeNull();
    expect(
      parseServingState("a", hmgetOf({ ...SERVED, pacing: "shaped", _shape: "1,2,3" }))?.trafficShape,
    ).toBeNull();
    expect(parseServingState("a", hmgetOf({ ...SERVED, pacing: "shaped" }))?.trafficShape).toBeNull();
    expect(() =>
      parseServingState("a", hmgetOf({ ...SERVED, pacing: "even", serve_fraction: "1.5" })),
    ).toThrow(/serve_fraction/);
    expect(() => parseServingState("a", hmgetOf({ ...SERVED, pacing: "fast", serve_fraction: "1" }))).toThrow(
      /pacing/,
    );
    // A hash written before budget sources were recorded has none.
    expect(
      parseServingState("a", ["1", null, "2026-11-25", "0", "0", "5", "0", "1", null])?.budgetSource,
    ).toBeNull();
    expect(
      parseServingState("a", ["1", null, "2026-11-25", "0", "0", null, "0", "1"])?.budgetMicros,
    ).toBeNull();
    // No mode field: the advertiser is in observe (no explicit budget ever set one), nothing over the cap.
    expect(
      parseServingState("a", ["1", null, "2026-11-25", "0", "0", "5", "0", "1", "api", null, null]),
    ).toMatchObject({ mode: "observe", overCapMicros: 0, budgetPeriod: null, timeZone: null });
    // No forecast yet (or none within the period): null.
    expect(
      parseServingState("a", ["1", null, "2026-11-25", "0", "0", "5", "0", "1", "api", null, null, "", "0"]),
    ).toMatchObject({ forecastExhaustedAtMs: null, forecastPeriodSpendMicros: 0 });
  });

  it("refuses malformed states instead of guessing", () => {
    expect(() => parseServingState("a", ["yes", null, "p", "0", "0", "1", "0", "1"])).toThrow(/can_serve/);
    expect(() => parseServingState("a", ["0", "bankrupt", "p", "0", "0", "1", "0", "1"])).toThrow(/reason/);
    expect(() => parseServingState("a", ["1", null, "p", "1.5", "0", "1", "0", "1"])).toThrow(/net_micros/);
    expect(() => parseServingState("a", ["1", null, "p", "0", "0", "1", "0", "1", "web"])).toThrow(
      /budget_source/,
    );
    expect(() => parseServingState("a", ["1", null, "p", "0", "0", "1", "0", "1", "api", "soft"])).toThrow(
      /mode/,
    );
    expect(() =>
      parseServingState("a", ["1", null, "p", "0", "0", "1", "0", "1", "api", "hard_cap", "x"]),
    ).toThrow(/over_cap_micros/);
    expect(() =>
      parseServingState("a", ["1", null, "p", "0", "0", "1", "0", "1", "api", "hard_cap", "0", "soon"]),
    ).toThrow(/forecast_exhausted_at/);
    expect(() =>
      parseServingState("a", ["1", null, "p", "0", "0", "1", "0", "1", "api", "hard_cap", "0", "", "1.5"]),
    ).toThrow(/forecast_period_spend_micros/);
  });

  it("parses change messages and ignores anything else, never throwing", () => {
    expect(
      parseServingChangeMessage(
        '{"type":"serving_change","advertiserId":"9","canServe":true,"reason":null,"period":"2026-11-25","updatedAt":5}',
      ),
    ).toEqual({
      type: "serving_change",
      advertiserId: "9",
      canServe: true,
      reason: null,
      period: "2026-11-25",
      updatedAt: 5,
    });
    expect(parseServingChangeMessage('{"type":"reset","at":7}')).toEqual({ type: "reset", at: 7 });
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
        const message = parseServingChangeMessage(text);
        expect(message === null || typeof message.type === "string").toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});
