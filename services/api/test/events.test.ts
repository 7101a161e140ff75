import { BUDGET_MODES, DEFAULT_PARSE_OPTIONS, parseEvent } from "@adpipe/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { budgetUpdateEvent } from "../src/events.js";

describe("budgetUpdateEvent", () => {
  it("writes budget_value so that the contract reads back exactly the micros given", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: DEFAULT_PARSE_OPTIONS.maxBudgetMicros }),
        fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }),
        (budgetMicros, atMs) => {
          const event = budgetUpdateEvent({
            advertiserId: "adv-1",
            advertiser: "Adv One",
            budgetMicros,
            atMs,
          });
          const parsed = parseEvent(event.json, { referenceTimeMs: atMs });
          expect(parsed).toMatchObject({
            ok: true,
            isValid: true,
            eventType: "budget_update",
            clickId: event.eventId,
            advertiserId: "adv-1",
            budgetMicros,
            budgetSource: "api",
            eventTimeMs: atMs,
          });
          // No field outside the contract (no unknown_fields warning).
          expect(parsed.ok && parsed.warnings).toEqual([]);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("writes budget_mode only when a mode is given, and the contract reads back that mode", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: DEFAULT_PARSE_OPTIONS.maxBudgetMicros }),
        fc.option(fc.constantFrom(...BUDGET_MODES), { nil: undefined }),
        (budgetMicros, budgetMode) => {
          const atMs = Date.UTC(2026, 10, 25);
          const event = budgetUpdateEvent({
            advertiserId: "a",
            advertiser: "a",
            budgetMicros,
            budgetMode,
            atMs,
          });
          expect("budget_mode" in (JSON.parse(event.json) as object)).toBe(budgetMode !== undefined);
          const parsed = parseEvent(event.json, { referenceTimeMs: atMs });
          expect(parsed).toMatchObject({ ok: true, isValid: true, budgetMicros, budgetSource: "api" });
          expect(parsed.ok && parsed.budgetMode).toBe(budgetMode);
          expect(parsed.ok && parsed.warnings).toEqual([]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("gives every event its own id", () => {
    const a = budgetUpdateEvent({ advertiserId: "a", advertiser: "a", budgetMicros: 1, atMs: 0 });
    const b = budgetUpdateEvent({ advertiserId: "a", advertiser: "a", budgetMicros: 1, atMs: 0 });
    expect(a.eventId).not.toBe(b.eventId);
    expect(a.eventId).toMatch(/^budget-[0-9a-f-]{36}$/);
  });
});
