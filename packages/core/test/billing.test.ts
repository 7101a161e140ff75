import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { billableMicros, type ModeObservation, modeInForce, supersedesMode } from "../src/billing.js";
import { MS_PER_DAY, MS_PER_HOUR } from "../src/civil.js";
import { BUDGET_MODES, type BudgetMode } from "../src/contract.js";
import { Oracle, type OracleRecord } from "../src/oracle.js";

vi.setConfig({ testTimeout: 60_000 });

const RUNS = { numRuns: 1_000 };
const micros = fc.integer({ min: 0, max: 2_000_000_000 });
const signedMicros = fc.integer({ min: -2_000_000_000, max: 2_000_000_000 });
const mode = fc.constantFrom(...BUDGET_MODES);

describe("billableMicros: the clamp of one click", () => {
  it("bills every micro in observe, whatever the budget", () => {
    fc.assert(
      fc.property(fc.option(micros), signedMicros, signedMicros, (budget, sofar, net) => {
        expect(billableMicros("observe", budget, sofar, net)).toBe(net);
      }),
      RUNS,
    );
  });

  it("in hard_cap bills what fits under the budget and never more than the click", () => {
    fc.assert(
      fc.property(fc.option(micros), signedMicros, micros, (budget, sofar, net) => {
        const billable = billableMicros("hard_cap", budget, sofar, net);
        const overCap = net - billable;
        expect(billable).toBeGreaterThanOrEqual(0);
        expect(overCap).toBeGreaterThanOrEqual(0);
        // Never past the budget from below, never billing anything once at or past it.
        expect(sofar + billable).toBeLessThanOrEqual(Math.max(budget ?? 0, sofar));
        // Greedy: something goes over the cap only when the period reaches the budget exactly.
        if (overCap > 0) expect(sofar + billable).toBe(Math.max(budget ?? 0, sofar));
      }),
      RUNS,
    );
  });

  it("never clamps a refund: a net amount <= 0 is billable as it is in both modes", () => {
    fc.assert(
      fc.property(
        mode,
        fc.option(micros),
        signedMicros,
        fc.integer({ min: -2e9, max: 0 }),
        (m, b, s, net) => {
          expect(billableMicros(m, b, s, net)).toBe(net);
        },
      ),
      RUNS,
    );
  });

  it("treats no budget as 0 in hard_cap: nothing is billable", () => {
    expect(billableMicros("hard_cap", null, 0, 5)).toBe(0);
    expect(billableMicros("hard_cap", 0, 0, 5)).toBe(0);
    expect(billableMicros("hard_cap", 10, 7, 5)).toBe(3);
    expect(billableMicros("hard_cap", 10, 12, 5)).toBe(0);
  });
});

type Step =
  | { kind: "charge"; micros: number }
  | { kind: "budget"; micros: number }
  | { kind: "mode"; mode: BudgetMode };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .integer({ min: -3_000_000, max: 9_000_000 })
      .map((m) => ({ kind: "charge", micros: m }) as Step),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: 40_000_000 }).map((m) => ({ kind: "budget", micros: m }) as Step),
  },
  { weight: 1, arbitrary: mode.map((m) => ({ kind: "mode", mode: m }) as Step) },
);

/** One period's billing folded over steps in log order, as every store runs it. */
function fold(steps: readonly Step[], start: { mode: BudgetMode; budget: number | null }) {
  let current = start.mode;
  let budget = start.budget;
  let billable = 0;
  let overCap = 0;
  let net = 0;
  const trace: { mode: BudgetMode; budget: number | null; before: number; after: number; net: number }[] = [];
  for (const s of steps) {
    if (s.kind === "mode") current = s.mode;
    else if (s.kind === "budget") budget = s.micros;
    else {
      const before = billable;
      const part = billableMicros(current, budget, billable, s.micros);
      billable += part;
      overCap += s.micros - part;
      net += s.micros;
      trace.push({ mode: current, budget, before, after: billable, net: s.micros });
    }
  }
  return { billable, overCap, net, trace };
}

describe("billableMicros folded over any order of clicks, refunds, budget changes and mode switches", () => {
  it("keeps billable + over_cap = the clicks' net, and over_cap never negative", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), mode, fc.option(micros), (steps, m, budget) => {
        const result = fold(steps, { mode: m, budget });
        expect(result.billable + result.overCap).toBe(result.net);
        expect(result.overCap).toBeGreaterThanOrEqual(0);
      }),
      RUNS,
    );
  });

  it("in hard_cap a click never takes billable net past the budget", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 60 }), mode, fc.option(micros), (steps, m, budget) => {
        for (const t of fold(steps, { mode: m, budget }).trace) {
          if (t.mode !== "hard_cap" || t.net <= 0) continue;
          expect(t.after).toBeLessThanOrEqual(Math.max(t.budget ?? 0, t.before));
        }
      }),
      RUNS,
    );
  });

  it("with hard_cap and a fixed budget throughout, billable net never exceeds the budget", () => {
    const noBudgetOrMode = fc.array(
      step.filter((s) => s.kind === "charge"),
      { maxLength: 60 },
    );
    fc.assert(
      fc.property(noBudgetOrMode, micros, (steps, budget) => {
        let billable = 0;
        for (const s of steps) {
          if (s.kind !== "charge") continue;
          billable += billableMicros("hard_cap", budget, billable, s.micros);
          expect(billable).toBeLessThanOrEqual(budget);
        }
      }),
      RUNS,
    );
  });

  it("in observe bills exactly the net, as before modes existed", () => {
    fc.assert(
      fc.property(
        fc.array(
          step.filter((s) => s.kind !== "mode"),
          { maxLength: 60 },
        ),
        (steps) => {
          const result = fold(steps, { mode: "observe", budget: null });
          expect(result.billable).toBe(result.net);
          expect(result.overCap).toBe(0);
        },
      ),
      RUNS,
    );
  });
});

describe("supersedesMode / modeInForce", () => {
  it("is observe without observations; later event time wins, ties the later record", () => {
    expect(modeInForce([])).toBe("observe");
    const a: ModeObservation = { mode: "hard_cap", eventTimeMs: 10 };
    const b: ModeObservation = { mode: "observe", eventTimeMs: 5 };
    expect(modeInForce([a, b])).toBe("hard_cap");
    expect(modeInForce([b, a])).toBe("hard_cap");
    expect(modeInForce([a, { mode: "observe", eventTimeMs: 10 }])).toBe("observe");
    expect(supersedesMode(null, b)).toBe(true);
  });

  it("depends only on the observations and their order among equal times", () => {
    const observation = fc.record({ mode, eventTimeMs: fc.integer({ min: 0, max: 5 }) });
    fc.assert(
      fc.property(fc.array(observation, { minLength: 1, maxLength: 20 }), (list) => {
        const latest = Math.max(...list.map((o) => o.eventTimeMs));
        const last = list.filter((o) => o.eventTimeMs === latest).at(-1) as ModeObservation;
        expect(modeInForce(list)).toBe(last.mode);
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
// The oracle bills hard_cap advertisers by the clamp, in partition order, per budget period.

const H = MS_PER_HOUR;
const DAY = Date.UTC(2026, 10, 25);

type LogEntry =
  | { kind: "click"; id: number; amountMicros: number; hour: number; valid: boolean }
  | { kind: "update"; budgetMicros: number; mode: BudgetMode | null; hour: number };

const logEntry: fc.Arbitrary<LogEntry> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("click" as const),
      id: fc.integer({ min: 0, max: 40 }), // repeats are duplicates
      amountMicros: fc.integer({ min: 1, max: 5_000_000 }),
      hour: fc.integer({ min: -30, max: 40 }), // yesterday, today, tomorrow: three periods
      valid: fc.boolean(), // invalid: gross only, never billable
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("update" as const),
      budgetMicros: fc.integer({ min: 0, max: 30_000_000 }),
      mode: fc.option(mode),
      hour: fc.integer({ min: -30, max: 40 }),
    }),
  },
);

function toRecords(
  log: readonly LogEntry[],
  withModes: (m: BudgetMode | null) => BudgetMode | null,
): OracleRecord[] {
  // Every record's Kafka timestamp is far enough after its event time to be valid (no future/late findings).
  const reference = DAY + 48 * H;
  return log.map((entry) => {
    const timestamp = DAY + entry.hour * H;
    if (entry.kind === "click") {
      return {
        value: JSON.stringify({
          event_type: "ad_click",
          click_id: `c${entry.id}`,
          advertiser_id: "adv",
          amount: entry.amountMicros / 1e6,
          ...(entry.valid ? {} : { budget_value: -1 }), // budget_negative: an invalid click
          timestamp,
        }),
        timestampMs: reference,
      };
    }
    const m = withModes(entry.mode);
    return {
      value: JSON.stringify({
        event_type: "budget_update",
        advertiser_id: "adv",
        budget_value: entry.budgetMicros / 1e6,
        ...(m === null ? {} : { budget_mode: m }),
        timestamp,
      }),
      timestampMs: reference,
    };
  });
}

/** An independent reading of the rule: fold the log in order, one running billable total per UTC day. */
function reference(log: readonly LogEntry[]) {
  let budget: { micros: number; t: number } | null = null;
  let current: { mode: BudgetMode; t: number } | null = null;
  const seen = new Set<number>();
  const billableByDay = new Map<number, number>();
  const perHour = new Map<number, { net: number; overCap: number }>();
  for (const e of log) {
    const t = DAY + e.hour * H;
    if (e.kind === "update") {
      if (budget === null || t >= budget.t) budget = { micros: e.budgetMicros, t };
      if (e.mode !== null && (current === null || t >= current.t)) current = { mode: e.mode, t };
      continue;
    }
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    const net = e.valid ? e.amountMicros : 0;
    const day = Math.floor(t / MS_PER_DAY);
    const sofar = billableByDay.get(day) ?? 0;
    let billable = net;
    if (current?.mode === "hard_cap") billable = Math.min(net, Math.max(0, (budget?.micros ?? 0) - sofar));
    billableByDay.set(day, sofar + billable);
    const hour = perHour.get(t) ?? { net: 0, overCap: 0 };
    hour.net += billable;
    hour.overCap += net - billable;
    perHour.set(t, hour);
  }
  return { billableByDay, perHour, budget, mode: current?.mode ?? "observe" };
}

describe("Oracle: hard_cap billing", () => {
  const log = fc.array(logEntry, { maxLength: 50 });

  it("bills every click by the clamp in log order, per period, to the micro-unit", () => {
    fc.assert(
      fc.property(log, (entries) => {
        const oracle = new Oracle().observeAll(toRecords(entries, (m) => m));
        const want = reference(entries);
        for (const row of oracle.goldRows()) {
          const hour = want.perHour.get(row.windowStartMs) ?? { net: 0, overCap: 0 };
          expect([row.netMicros, row.overCapMicros]).toEqual([hour.net, hour.overCap]);
          expect(row.grossMicros).toBeGreaterThanOrEqual(row.netMicros + row.overCapMicros);
        }
        for (const day of [-1, 0, 1]) {
          const [state] = oracle.servingStateAt(DAY + day * MS_PER_DAY + 3 * H);
          if (state === undefined) continue;
          expect(state.netMicros).toBe(want.billableByDay.get(Math.floor(DAY / MS_PER_DAY) + day) ?? 0);
          expect(state.mode).toBe(want.mode);
        }
      }),
      { numRuns: 300 },
    );
  });

  it("never bills a hard_cap period past a budget set once before any click", () => {
    const clicks = fc.array(
      logEntry.filter((e) => e.kind === "click"),
      { maxLength: 50 },
    );
    fc.assert(
      fc.property(clicks, fc.integer({ min: 0, max: 30_000_000 }), (entries, budgetMicros) => {
        const first: LogEntry = { kind: "update", budgetMicros, mode: "hard_cap", hour: -40 };
        const oracle = new Oracle().observeAll(toRecords([first, ...entries], (m) => m));
        for (const day of [-1, 0, 1]) {
          for (const state of oracle.servingStateAt(DAY + day * MS_PER_DAY)) {
            expect(state.netMicros).toBeLessThanOrEqual(budgetMicros);
            expect(state.overspendMicros).toBe(0);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("leaves observe advertisers exactly as without modes", () => {
    fc.assert(
      fc.property(log, (entries) => {
        const observe = new Oracle().observeAll(toRecords(entries, (m) => (m === null ? null : "observe")));
        const none = new Oracle().observeAll(toRecords(entries, () => null));
        expect(observe.goldRows()).toEqual(none.goldRows());
        expect(observe.servingStateAt(DAY)).toEqual(none.servingStateAt(DAY));
        for (const row of none.goldRows()) expect(row.overCapMicros).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it("splits the click that crosses the budget and bills nothing after it", () => {
    const entries: LogEntry[] = [
      { kind: "update", budgetMicros: 10_000_000, mode: "hard_cap", hour: 0 },
      { kind: "click", id: 1, amountMicros: 6_000_000, hour: 1, valid: true },
      { kind: "click", id: 2, amountMicros: 6_000_000, hour: 1, valid: true },
      { kind: "click", id: 3, amountMicros: 1_000_000, hour: 2, valid: true },
      { kind: "click", id: 3, amountMicros: 1_000_000, hour: 2, valid: true }, // duplicate: nothing
    ];
    const oracle = new Oracle().observeAll(toRecords(entries, (m) => m));
    expect(oracle.goldRows().map((r) => [r.grossMicros, r.netMicros, r.overCapMicros])).toEqual([
      [12_000_000, 10_000_000, 2_000_000],
      [1_000_000, 0, 1_000_000],
    ]);
    expect(oracle.servingStateAt(DAY + 3 * H)[0]).toMatchObject({
      mode: "hard_cap",
      netMicros: 10_000_000,
      grossMicros: 13_000_000,
      overCapMicros: 3_000_000,
      canServe: false,
      reason: "budget_exhausted",
    });
  });
});
