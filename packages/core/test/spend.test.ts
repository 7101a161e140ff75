import { describe, expect, it } from "vitest";
import type { ParsedEvent } from "../src/contract.js";
import { CoreError } from "../src/errors.js";
import { parseEvent } from "../src/parse-event.js";
import {
  budgetObservation,
  clickDedupKey,
  decideServing,
  overspendMicros,
  spendContribution,
  supersedesBudget,
} from "../src/spend.js";

const NOW = Date.UTC(2026, 10, 25, 13, 30);

function event(fields: Record<string, unknown>): ParsedEvent {
  const result = parseEvent(JSON.stringify(fields), { referenceTimeMs: NOW });
  if (!result.ok) throw new Error(result.reason);
  return result;
}

const click = (extra: Record<string, unknown> = {}): ParsedEvent =>
  event({
    event_type: "ad_click",
    click_id: "c1",
    advertiser: "Acme",
    advertiser_id: "adv-1",
    amount: "0.25",
    timestamp: "2026-11-25T13:10:00Z",
    ...extra,
  });

describe("spendContribution", () => {
  it("a valid click contributes its amount to gross and net in its UTC hour window", () => {
    expect(spendContribution(click())).toEqual({
      advertiserId: "adv-1",
      advertiser: "Acme",
      eventTimeMs: Date.UTC(2026, 10, 25, 13, 10),
      windowStartMs: Date.UTC(2026, 10, 25, 13),
      grossMicros: 250_000,
      netMicros: 250_000,
      valid: true,
    });
  });

  it("an invalid click with a usable amount is gross but not net (late, future, other defects)", () => {
    const late = spendContribution(click({ timestamp: "2026-11-01T00:00:00Z" }));
    expect(late).toMatchObject({
      grossMicros: 250_000,
      netMicros: 0,
      valid: false,
      windowStartMs: Date.UTC(2026, 10, 1),
    });
    const future = spendContribution(click({ timestamp: "2026-11-25T15:00:00Z" }));
    expect(future).toMatchObject({ grossMicros: 250_000, netMicros: 0, valid: false });
    expect(spendContribution(click({ click_id: null }))).toMatchObject({
      grossMicros: 250_000,
      netMicros: 0,
    });
  });

  it("an unusable amount contributes 0 (the click still counts as an invalid click)", () => {
    expect(spendContribution(click({ amount: -3 }))).toMatchObject({
      grossMicros: 0,
      netMicros: 0,
      valid: false,
    });
    expect(spendContribution(click({ amount: 5000 }))).toMatchObject({
      grossMicros: 0,
      netMicros: 0,
      valid: false,
    });
  });

  it("is null when the event cannot be attributed or bucketed, or is not a click", () => {
    expect(spendContribution(click({ advertiser: null, advertiser_id: null }))).toBeNull();
    expect(spendContribution(click({ timestamp: "bad" }))).toBeNull();
    expect(
      spendContribution(
        event({ event_type: "budget_update", advertiser_id: "a", budget_value: 1, timestamp: NOW }),
      ),
    ).toBeNull();
    expect(spendContribution(click({ event_type: "ad_view" }))).toBeNull();
  });
});

describe("budgetObservation", () => {
  it("comes from valid budget updates and valid clicks carrying budget_value", () => {
    expect(
      budgetObservation(
        event({ event_type: "budget_update", advertiser_id: "a", budget_value: 10, timestamp: NOW }),
      ),
    ).toEqual({
      advertiserId: "a",
      budgetMicros: 10_000_000,
      eventTimeMs: NOW,
    });
    expect(budgetObservation(click({ budget_value: 1000.0 }))).toMatchObject({ budgetMicros: 1_000_000_000 });
    expect(
      budgetObservation(
        event({ event_type: "budget_update", advertiser_id: "a", budget_value: 0, timestamp: NOW }),
      ),
    ).toMatchObject({
      budgetMicros: 0,
    });
  });

  it("never from invalid events or events without a budget", () => {
    expect(budgetObservation(click())).toBeNull();
    expect(budgetObservation(click({ budget_value: 5, amount: 0 }))).toBeNull();
    expect(budgetObservation(click({ budget_value: 5, timestamp: "2020-01-01T00:00:00Z" }))).toBeNull();
  });

  it("a later event time supersedes; an equal one too (it came later in partition order)", () => {
    const at = (t: number) => ({ advertiserId: "a", budgetMicros: t, eventTimeMs: t });
    expect(supersedesBudget(null, at(1))).toBe(true);
    expect(supersedesBudget(at(5), at(6))).toBe(true);
    expect(supersedesBudget(at(5), at(5))).toBe(true);
    expect(supersedesBudget(at(5), at(4))).toBe(false);
  });
});

describe("clickDedupKey", () => {
  it("is the advertiser-scoped click id, unambiguous whatever the characters", () => {
    expect(clickDedupKey(click())).toBe("5:adv-1:c1");
    expect(clickDedupKey(click({ advertiser_id: "a:b", click_id: "c" }))).not.toBe(
      clickDedupKey(click({ advertiser_id: "a", click_id: "b:c" })),
    );
    // Numeric and string ids name the same click.
    expect(clickDedupKey(click({ advertiser_id: 7, click_id: 9 }))).toBe(
      clickDedupKey(click({ advertiser_id: "7", click_id: "9" })),
    );
  });

  it("takes part whether or not the click is valid, and is null when there is nothing to key on", () => {
    expect(clickDedupKey(click({ amount: -1 }))).toBe("5:adv-1:c1");
    expect(clickDedupKey(click({ click_id: null }))).toBeNull();
    expect(clickDedupKey(click({ click_id: "x".repeat(200) }))).toBeNull();
    expect(clickDedupKey(click({ advertiser: null, advertiser_id: null }))).toBeNull();
    expect(
      clickDedupKey(
        event({
          event_type: "budget_update",
          click_id: "c1",
          advertiser_id: "adv-1",
          budget_value: 1,
          timestamp: NOW,
        }),
      ),
    ).toBeNull();
  });
});

describe("decideServing and overspendMicros", () => {
  it("serves while period net < budget", () => {
    expect(decideServing({ periodNetMicros: 0, budgetMicros: 1 })).toEqual({ canServe: true, reason: null });
    expect(decideServing({ periodNetMicros: 999_999, budgetMicros: 1_000_000 })).toEqual({
      canServe: true,
      reason: null,
    });
    expect(decideServing({ periodNetMicros: 1_000_000, budgetMicros: 1_000_000 })).toEqual({
      canServe: false,
      reason: "budget_exhausted",
    });
    expect(decideServing({ periodNetMicros: 2_000_000, budgetMicros: 1_000_000 })).toEqual({
      canServe: false,
      reason: "budget_exhausted",
    });
  });

  it("no budget or a zero budget means not serving (no_budget); paused wins over everything", () => {
    expect(decideServing({ periodNetMicros: 0, budgetMicros: null })).toEqual({
      canServe: false,
      reason: "no_budget",
    });
    expect(decideServing({ periodNetMicros: 0, budgetMicros: 0 })).toEqual({
      canServe: false,
      reason: "no_budget",
    });
    expect(decideServing({ periodNetMicros: 0, budgetMicros: 10, paused: true })).toEqual({
      canServe: false,
      reason: "paused",
    });
    expect(decideServing({ periodNetMicros: 50, budgetMicros: 10, paused: true })).toEqual({
      canServe: false,
      reason: "paused",
    });
    expect(decideServing({ periodNetMicros: 0, budgetMicros: 10, paused: false })).toEqual({
      canServe: true,
      reason: null,
    });
  });

  it("overspend is max(0, net − budget); without a budget all net spend is overspend", () => {
    expect(overspendMicros(5, 10)).toBe(0);
    expect(overspendMicros(10, 10)).toBe(0);
    expect(overspendMicros(15, 10)).toBe(5);
    expect(overspendMicros(15, null)).toBe(15);
    expect(overspendMicros(0, null)).toBe(0);
  });

  it("refuses non-integer micros", () => {
    expect(() => decideServing({ periodNetMicros: 0.5, budgetMicros: 1 })).toThrow(CoreError);
    expect(() => decideServing({ periodNetMicros: 1, budgetMicros: Number.NaN })).toThrowError(
      expect.objectContaining({ code: "unsafe_integer" }),
    );
    expect(() => overspendMicros(1, 0.5)).toThrow(CoreError);
  });
});
