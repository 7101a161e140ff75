import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { advertiserKey, isValidAdvertiserId } from "../src/contract.js";
import {
  assertReserveRequest,
  decodeReserveReply,
  MAX_RESERVATION_TTL_MS,
  RESERVATION_REFUSALS,
  reservationExpiriesKey,
  reservationsKey,
} from "../src/reservations.js";

describe("reservation keys", () => {
  it("share the advertiser hash's tag: one slot for the script", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }).filter(isValidAdvertiserId), (id) => {
        const tag = advertiserKey(id, "p:").slice("p:adv:".length);
        expect(reservationsKey(id, "p:")).toBe(`p:resv:${tag}`);
        expect(reservationExpiriesKey(id, "p:")).toBe(`p:resvexp:${tag}`);
      }),
    );
  });
});

describe("decodeReserveReply", () => {
  it("reads grants and every refusal", () => {
    expect(decodeReserveReply([1, "", 5])).toEqual({ granted: true, reason: null, remainingMicros: 5 });
    expect(decodeReserveReply([1, "", -1])).toEqual({ granted: true, reason: null, remainingMicros: null });
    for (const reason of RESERVATION_REFUSALS) {
      expect(decodeReserveReply([0, reason, -1])).toEqual({ granted: false, reason, remainingMicros: null });
    }
  });

  it("refuses anything else loudly", () => {
    for (const bad of [null, [], [1, ""], [2, "", 0], [0, "nope", 0], [1, "", "5"], "OK"]) {
      expect(() => decodeReserveReply(bad)).toThrow(
        expect.objectContaining({ code: "ADP_SERVING_CLIENT_MALFORMED_REPLY" }),
      );
    }
  });
});

describe("assertReserveRequest", () => {
  const ok = { advertiserId: "a", reservationId: "r", maxCostMicros: 1, ttlMs: 1 };
  it("accepts positive safe-integer costs and TTLs up to the maximum", () => {
    expect(() => assertReserveRequest(ok)).not.toThrow();
    expect(() =>
      assertReserveRequest({ ...ok, maxCostMicros: Number.MAX_SAFE_INTEGER, ttlMs: MAX_RESERVATION_TTL_MS }),
    ).not.toThrow();
  });

  it("rejects what reserve.lua must never see", () => {
    for (const bad of [
      { ...ok, maxCostMicros: 0 },
      { ...ok, maxCostMicros: -1 },
      { ...ok, maxCostMicros: 0.5 },
      { ...ok, maxCostMicros: Number.MAX_SAFE_INTEGER + 1 },
      { ...ok, ttlMs: 0 },
      { ...ok, ttlMs: MAX_RESERVATION_TTL_MS + 1 },
      { ...ok, ttlMs: Number.NaN },
      { ...ok, reservationId: "" },
      { ...ok, reservationId: "x".repeat(129) },
      { ...ok, reservationId: "a\u0000" },
    ]) {
      expect(() => assertReserveRequest(bad)).toThrow(
        expect.objectContaining({ code: "ADP_SERVING_CLIENT_INVALID_RESERVATION" }),
      );
    }
    expect(() => assertReserveRequest({ ...ok, advertiserId: "" })).toThrow(
      expect.objectContaining({ code: "ADP_SERVING_CLIENT_INVALID_ADVERTISER_ID" }),
    );
  });
});
