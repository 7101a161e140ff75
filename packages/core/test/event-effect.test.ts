import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BUDGET_MODES, BUDGET_SOURCES, EVENT_TYPES, type ParsedEvent } from "../src/contract.js";
import { clickDedupKeyOf, EventEffect, eventEffect } from "../src/event-effect.js";
import { generateStream } from "../src/generator.js";
import { parseEvent } from "../src/parse-event.js";
import {
  budgetObservation,
  clickDedupKey,
  contributionOf,
  observationOf,
  spendContribution,
} from "../src/spend.js";

const HOUR = 3_600_000;
const T = Date.UTC(2026, 10, 25, 12);

/**
 * The spend rules written out plainly, one object per question: the reference eventEffect is held to.
 * Kept deliberately naive (no reuse, no shared conditions) so that a slip in the optimised function shows.
 */
const reference = {
  spend(event: ParsedEvent) {
    if (event.eventType !== "ad_click" || event.advertiserId === null || event.eventTimeMs === null)
      return null;
    const gross = event.amountMicros ?? 0;
    return {
      advertiserId: event.advertiserId,
      advertiser: event.advertiser,
      eventTimeMs: event.eventTimeMs,
      windowStartMs: Math.floor(event.eventTimeMs / HOUR) * HOUR,
      grossMicros: gross,
      netMicros: event.isValid ? gross : 0,
      valid: event.isValid,
    };
  },
  budget(event: ParsedEvent) {
    if (
      !event.isValid ||
      event.budgetMicros === null ||
      event.budgetSource === null ||
      event.advertiserId === null ||
      event.eventTimeMs === null
    )
      return null;
    return {
      advertiserId: event.advertiserId,
      budgetMicros: event.budgetMicros,
      eventTimeMs: event.eventTimeMs,
      source: event.budgetSource,
    };
  },
  /** Only an explicit budget observation (api, budget_update) sets a mode, and only when it names one. */
  mode(event: ParsedEvent) {
    const budget = reference.budget(event);
    if (budget === null || budget.source === "click") return null;
    return event.budgetMode ?? null;
  },
  dedupKey(event: ParsedEvent) {
    if (event.eventType !== "ad_click" || event.clickId === null || event.advertiserId === null) return null;
    return `${event.advertiserId.length}:${event.advertiserId}:${event.clickId}`;
  },
};

/** Any combination of the fields the rules read, including ones parseEvent never produces together. */
const anyParsedEvent: fc.Arbitrary<ParsedEvent> = fc
  .record({
    eventType: fc.option(fc.constantFrom(...EVENT_TYPES)),
    clickId: fc.option(fc.constantFrom("c1", "c:2", "7", "ü")),
    advertiser: fc.option(fc.constantFrom("Acme", "a:b")),
    advertiserId: fc.option(fc.constantFrom("a", "a:b", "42", "ü")),
    adId: fc.option(fc.constant("ad-1")),
    amountMicros: fc.option(fc.integer({ min: 0, max: 1_000_000_000 })),
    budgetMicros: fc.option(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
    budgetSource: fc.option(fc.constantFrom(...BUDGET_SOURCES)),
    budgetMode: fc.option(fc.constantFrom(...BUDGET_MODES), { nil: undefined }),
    eventTimeMs: fc.option(fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 })),
    isValid: fc.boolean(),
  })
  .map((fields) => ({ ok: true as const, ...fields, errors: [], warnings: [] }));

/** Streams the generator produces (every kind of record), as parseEvent reads them. */
function generatedEvents(seed: number, events: number): ParsedEvent[] {
  const out: ParsedEvent[] = [];
  for (const record of generateStream({ seed, events, advertisers: 20, shares: { operatorBudget: 0.05 } })) {
    const parsed = parseEvent(record.value, { referenceTimeMs: record.timestampMs });
    if (parsed.ok) out.push(parsed);
  }
  return out;
}

function expectAgreesWithReference(event: ParsedEvent, effect: EventEffect): void {
  eventEffect(event, effect);
  expect(contributionOf(effect)).toEqual(reference.spend(event));
  expect(observationOf(effect)).toEqual(reference.budget(event));
  expect(clickDedupKeyOf(effect)).toBe(reference.dedupKey(event));
  expect(effect.budgetMode).toBe(reference.mode(event));
  // The object forms core still offers are the same views of the same rule.
  expect(spendContribution(event)).toEqual(reference.spend(event));
  expect(budgetObservation(event)).toEqual(reference.budget(event));
  expect(clickDedupKey(event)).toBe(reference.dedupKey(event));
  // The flat fields the tracker packs agree with the object forms.
  expect(effect.clicks).toBe(effect.spends ? 1 : 0);
  expect(effect.dedupClickId).toBe(reference.dedupKey(event) === null ? null : event.clickId);
}

describe("eventEffect", () => {
  it("agrees with the spend rules for any combination of the fields they read", () => {
    const effect = new EventEffect();
    fc.assert(
      fc.property(anyParsedEvent, (event) => expectAgreesWithReference(event, effect)),
      { numRuns: 2_000 },
    );
  });

  it("agrees with the spend rules over a generated stream of every kind of record", () => {
    const events = generatedEvents(11, 3_000);
    expect(events.length).toBeGreaterThan(2_500);
    const effect = new EventEffect();
    for (const event of events) expectAgreesWithReference(event, effect);
  });

  it("leaves nothing of the previous event in a reused record", () => {
    fc.assert(
      fc.property(fc.array(anyParsedEvent, { minLength: 1, maxLength: 20 }), (events) => {
        const reused = new EventEffect();
        for (const event of events) {
          expect({ ...eventEffect(event, reused) }).toEqual({ ...eventEffect(event, new EventEffect()) });
        }
      }),
      { numRuns: 500 },
    );
  });

  it("zeroes the spend and budget fields of an event that has neither", () => {
    const effect = new EventEffect();
    const click = parseEvent(
      JSON.stringify({
        event_type: "ad_click",
        click_id: "c1",
        advertiser_id: "a",
        amount: "0.5",
        budget_value: 3,
        timestamp: "2026-11-25T11:30:00Z",
      }),
      { referenceTimeMs: T },
    );
    const untimed = parseEvent(
      JSON.stringify({ event_type: "ad_click", click_id: "c2", advertiser_id: "a", amount: "0.5" }),
      { referenceTimeMs: T },
    );
    if (!click.ok || !untimed.ok) throw new Error("expected parsed events");
    expect(eventEffect(click, effect)).toMatchObject({
      spends: true,
      windowStartMs: T - HOUR,
      grossMicros: 500_000,
      netMicros: 500_000,
      clicks: 1,
      budgetSource: "click",
      budgetMicros: 3_000_000,
    });
    // An untimed click still takes part in deduplication, but neither spends nor states a budget.
    expect({ ...eventEffect(untimed, effect) }).toEqual({
      advertiserId: "a",
      advertiser: null,
      dedupClickId: "c2",
      reservationId: "c2",
      eventTimeMs: 0,
      spends: false,
      windowStartMs: 0,
      grossMicros: 0,
      netMicros: 0,
      valid: false,
      clicks: 0,
      budgetSource: null,
      budgetMicros: 0,
      budgetMode: null,
      budgetPeriod: null,
      timeZone: null,
      pacing: null,
    });
  });
});
