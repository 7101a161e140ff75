import { parseEvent } from "@adpipe/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AdServer,
  budgetRecord,
  clickRecord,
  type Offer,
  OfferStream,
  type Reserver,
  type ServingChecker,
  twinAdvertiserId,
} from "../lib/ad-servers.js";

const NOW = Date.UTC(2026, 11, 5, 12, 0, 0);

function parsed(record: { value: Uint8Array; timestampMs: number }) {
  const event = parseEvent(record.value, { referenceTimeMs: record.timestampMs });
  if (!event.ok) throw new Error(`rejected: ${event.reason}`);
  return event;
}

/** A client that grants (or says can_serve to) the advertisers in `serving` and records every request. */
function fakeClient(serving: ReadonlySet<string>) {
  const reserved: { advertiserId: string; reservationId: string; maxCostMicros: number }[] = [];
  const asked: string[][] = [];
  const client: ServingChecker & Reserver = {
    async reserveMany(requests) {
      reserved.push(...requests);
      return requests.map((r) => ({ granted: serving.has(r.advertiserId) }));
    },
    async canServeMany(ids) {
      asked.push([...ids]);
      return new Map(ids.map((id) => [id, serving.has(id)]));
    },
  };
  return { client, reserved, asked };
}

const options = { runId: "t", maxCostMicros: 2_000_000, ttlMs: 10_000, clickDelayMs: 2_000, seed: 7 };

describe("the simulated ad servers' records", () => {
  it("a click is a valid event of its amount, advertiser and reservation id, to the micro", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000_000 }),
        fc.integer({ min: 0, max: 9_999 }),
        fc.boolean(),
        (costMicros, index, reserved) => {
          const id = twinAdvertiserId(reserved ? "hard_cap" : "observe", index);
          const event = parsed(clickRecord(id, "c-1", costMicros, NOW, reserved ? "r-1" : null));
          expect(event.isValid).toBe(true);
          expect(event.warnings).toEqual([]);
          expect(event.eventType).toBe("ad_click");
          expect(event.advertiserId).toBe(id);
          expect(event.amountMicros).toBe(costMicros);
          expect(event.eventTimeMs).toBe(NOW);
          expect(event.reservationId ?? null).toBe(reserved ? "r-1" : null);
        },
      ),
    );
  });

  it("a budget update sets the budget and the mode", () => {
    for (const mode of ["observe", "hard_cap"] as const) {
      const event = parsed(budgetRecord(twinAdvertiserId(mode, 3), 1_500_000_000, mode, NOW));
      expect(event.isValid).toBe(true);
      expect(event.warnings).toEqual([]);
      expect(event.budgetMicros).toBe(1_500_000_000);
      expect(event.budgetMode).toBe(mode);
    }
  });
});

describe("OfferStream", () => {
  it("is the same stream for the same seed, within the advertisers and costs asked for", () => {
    const a = new OfferStream({ seed: 3, advertisers: 5, minCostMicros: 10, maxCostMicros: 20 });
    const b = new OfferStream({ seed: 3, advertisers: 5, minCostMicros: 10, maxCostMicros: 20 });
    for (let i = 0; i < 1_000; i++) {
      const offer = a.next();
      expect(b.next()).toEqual(offer);
      expect(offer.seq).toBe(i);
      expect(offer.advertiser).toBeGreaterThanOrEqual(0);
      expect(offer.advertiser).toBeLessThan(5);
      expect(offer.costMicros).toBeGreaterThanOrEqual(10);
      expect(offer.costMicros).toBeLessThanOrEqual(20);
    }
  });
});

describe("AdServer", () => {
  const offers: Offer[] = [
    { advertiser: 0, costMicros: 100, seq: 0 },
    { advertiser: 1, costMicros: 200, seq: 1 },
    { advertiser: 0, costMicros: 300, seq: 2 },
  ];

  it("hard_cap: reserves the most a click can cost for every offer, serves the granted, clicks settle them", async () => {
    const { client, reserved } = fakeClient(new Set([twinAdvertiserId("hard_cap", 0)]));
    const server = new AdServer({ ...options, mode: "hard_cap" }, client);
    await server.decide(offers, NOW);
    expect(reserved.map((r) => [r.advertiserId, r.maxCostMicros])).toEqual([
      ["cap-0000", 2_000_000],
      ["cap-0001", 2_000_000],
      ["cap-0000", 2_000_000],
    ]);
    expect(server.tally).toMatchObject({ offers: 3, grants: 2, refused: 1, clicks: 0 });
    expect(server.pendingClicks).toBe(2);
    const clicks = server.due(Number.POSITIVE_INFINITY).map(parsed);
    expect(server.pendingClicks).toBe(0);
    // Each click carries the id of the reservation granted for its offer.
    expect(clicks.map((c) => c.reservationId).sort()).toEqual(
      [reserved[0]?.reservationId, reserved[2]?.reservationId].sort(),
    );
    expect(server.tally.served).toEqual(new Map([["cap-0000", 400]]));
    expect(server.tally.clicks).toBe(2);
  });

  it("observe: asks can_serve and sends clicks without a reservation id", async () => {
    const { client, asked, reserved } = fakeClient(new Set([twinAdvertiserId("observe", 1)]));
    const server = new AdServer({ ...options, mode: "observe" }, client);
    await server.decide(offers, NOW);
    expect(reserved).toEqual([]);
    expect(asked).toEqual([["obs-0000", "obs-0001", "obs-0000"]]);
    const clicks = server.due(Number.POSITIVE_INFINITY).map(parsed);
    expect(clicks.map((c) => [c.advertiserId, c.amountMicros, c.reservationId ?? null])).toEqual([
      ["obs-0001", 200, null],
    ]);
  });

  it("hands out a click only once its delay has passed, each exactly once", async () => {
    const { client } = fakeClient(
      new Set([twinAdvertiserId("hard_cap", 0), twinAdvertiserId("hard_cap", 1)]),
    );
    const server = new AdServer({ ...options, mode: "hard_cap" }, client);
    const many = Array.from({ length: 500 }, (_, seq) => ({ advertiser: seq % 2, costMicros: 1, seq }));
    await server.decide(many, NOW);
    expect(server.due(NOW - 1)).toEqual([]);
    let handedOut = 0;
    for (let t = NOW; t <= NOW + options.clickDelayMs + 10; t += 10) handedOut += server.due(t).length;
    expect(handedOut).toBe(500);
    expect(server.pendingClicks).toBe(0);
    expect(server.due(Number.POSITIVE_INFINITY)).toEqual([]);
  });
});
