import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BUDGET_SOURCES, type BudgetSource, type ParsedEvent } from "../src/contract.js";
import { CoreError } from "../src/errors.js";
import { parseEvent } from "../src/parse-event.js";
import {
  type BudgetObservation,
  budgetInForce,
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
      source: "budget_update",
    });
    expect(budgetObservation(click({ budget_value: 1000.0 }))).toMatchObject({
      budgetMicros: 1_000_000_000,
      source: "click",
    });
    expect(
      budgetObservation(
        event({
          event_type: "budget_update",
          advertiser_id: "a",
          budget_value: 3,
          budget_source: "api",
          timestamp: NOW,
        }),
      ),
    ).toMatchObject({ budgetMicros: 3_000_000, source: "api" });
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
    for (const source of BUDGET_SOURCES) {
      const at = (t: number) => ({ advertiserId: "a", budgetMicros: t, eventTimeMs: t, source });
      expect(supersedesBudget(null, at(1))).toBe(true);
      expect(supersedesBudget(at(5), at(6))).toBe(true);
      expect(supersedesBudget(at(5), at(5))).toBe(true);
      expect(supersedesBudget(at(5), at(4))).toBe(false);
    }
  });

  it("an explicit budget (api, budget_update) outranks click-carried ones whatever the event times", () => {
    const obs = (source: BudgetSource, t: number) => ({
      advertiserId: "a",
      budgetMicros: t,
      eventTimeMs: t,
      source,
    });
    expect(supersedesBudget(obs("api", 10), obs("click", 99))).toBe(false);
    expect(supersedesBudget(obs("budget_update", 10), obs("click", 99))).toBe(false);
    expect(supersedesBudget(obs("click", 99), obs("api", 10))).toBe(true);
    expect(supersedesBudget(obs("click", 99), obs("budget_update", 10))).toBe(true);
    // api and budget_update are the same rank: the later one wins.
    expect(supersedesBudget(obs("api", 10), obs("budget_update", 11))).toBe(true);
    expect(supersedesBudget(obs("budget_update", 10), obs("api", 9))).toBe(false);
    // The operator's change survives the clicks that follow it; the click budget before it stays in its past.
    const log = [obs("click", 1), obs("click", 2), obs("api", 3), obs("click", 4), obs("click", 5)];
    expect(budgetInForce(log)).toMatchObject({ source: "api", budgetMicros: 3 });
    expect(budgetInForce(log, 3)).toMatchObject({ source: "click", budgetMicros: 2 });
    expect(budgetInForce(log, 1)).toBeNull();
  });
});

const observationArb = fc.record({
  advertiserId: fc.constant("a"),
  budgetMicros: fc.integer({ min: 0, max: 10_000_000 }),
  eventTimeMs: fc.integer({ min: 0, max: 20 }),
  source: fc.constantFrom(...BUDGET_SOURCES),
});

/** The rule written as a sort: highest (explicit rank, event time), the last in log order among equals. */
function referenceInForce(log: readonly BudgetObservation[], beforeMs: number): BudgetObservation | null {
  const ranked = log
    .map((o, index) => ({ o, index, rank: o.source === "click" ? 0 : 1 }))
    .filter(({ o }) => o.eventTimeMs < beforeMs)
    .sort((a, b) => a.rank - b.rank || a.o.eventTimeMs - b.o.eventTimeMs || a.index - b.index);
  return ranked.at(-1)?.o ?? null;
}

describe("budget precedence (properties)", () => {
  it("budgetInForce is the highest (explicit, event time), later in the log on ties, at every cut-off", () => {
    fc.assert(
      fc.property(
        fc.array(observationArb, { maxLength: 40 }),
        fc.integer({ min: 0, max: 22 }),
        (log, before) => {
          expect(budgetInForce(log, before)).toBe(referenceInForce(log, before));
          expect(budgetInForce(log)).toBe(referenceInForce(log, Number.POSITIVE_INFINITY));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("once an explicit budget is in force, no click-carried observation after it changes the budget", () => {
    fc.assert(
      fc.property(
        fc.array(observationArb, { maxLength: 20 }),
        observationArb.filter((o) => o.source !== "click"),
        fc.array(
          observationArb.map((o) => ({ ...o, source: "click" as const })),
          { maxLength: 20 },
        ),
        (before, operator, clicks) => {
          const withOperator = budgetInForce([...before, operator]);
          expect(budgetInForce([...before, operator, ...clicks])).toBe(withOperator);
          expect(withOperator?.source).not.toBe("click");
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it("the outcome does not depend on how the log is split into batches applied one after another", () => {
    fc.assert(
      fc.property(
        fc.array(observationArb, { maxLength: 40 }),
        fc.integer({ min: 1, max: 7 }),
        (log, size) => {
          // A store applies batch by batch, keeping only the budget in force between batches.
          let state: BudgetObservation | null = null;
          for (let i = 0; i < log.length; i += size) {
            const batchBest = budgetInForce(
              state === null ? log.slice(i, i + size) : [state, ...log.slice(i, i + size)],
            );
            state = batchBest;
          }
          expect(state).toBe(budgetInForce(log));
        },
      ),
      { numRuns: 1_000 },
    );
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
      expect.objectContaining({ code: "ADP_CORE_UNSAFE_INTEGER" }),
    );
    expect(() => overspendMicros(1, 0.5)).toThrow(CoreError);
  });
});
