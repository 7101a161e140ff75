import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  decidePacedServing,
  decidePacing,
  formatServeFraction,
  generateStream,
  isCoreError,
  mayReserve,
  type PacingMode,
  pacingTargetFraction,
  parseEvent,
  SERVE_FRACTION_SCALE,
  SHAPE_HOURS,
  sweepCanChangeServing,
  toleranceBpOfPct,
} from "../src/index.js";
import { Oracle } from "../src/testing.js";

const DAY = 86_400_000;
const START = Date.UTC(2026, 11, 6);

const budget = fc.integer({ min: 1, max: 2 ** 53 - 1 });
const moderateBudget = fc.integer({ min: 1, max: 1_000_000_000_000 });
const net = fc.integer({ min: -1_000_000, max: 2_000_000_000_000 });
const tolerance = fc.integer({ min: 0, max: SERVE_FRACTION_SCALE });
const offset = fc.integer({ min: -DAY, max: 2 * DAY });
const paced = fc.constantFrom<PacingMode>("even", "shaped");
const shape = fc.option(fc.array(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 24, maxLength: 24 }), {
  nil: null,
});

describe("decidePacing", () => {
  it("asap never holds back", () => {
    fc.assert(
      fc.property(budget, net, offset, tolerance, (budgetMicros, netMicros, at, toleranceBp) => {
        const decision = decidePacing({
          pacing: "asap",
          budgetMicros,
          netMicros,
          periodStartMs: START,
          periodEndMs: START + DAY,
          nowMs: START + at,
          toleranceBp,
        });
        expect(decision.aheadOfPace).toBe(false);
        expect(decision.allowedMicros).toBe(budgetMicros);
      }),
    );
  });

  it("even: 0 at the start, the budget at the end, never decreasing, allowed = target + tolerance <= budget", () => {
    fc.assert(
      fc.property(
        moderateBudget,
        fc.integer({ min: 0, max: DAY }),
        fc.integer({ min: 0, max: DAY }),
        tolerance,
        (budgetMicros, a, b, toleranceBp) => {
          const at = (nowMs: number) =>
            decidePacing({
              pacing: "even",
              budgetMicros,
              netMicros: 0,
              periodStartMs: START,
              periodEndMs: START + DAY,
              nowMs,
              toleranceBp,
            });
          const [early, late] = [at(START + Math.min(a, b)), at(START + Math.max(a, b))];
          expect(early.targetMicros).toBeLessThanOrEqual(late.targetMicros);
          expect(at(START).targetMicros).toBe(0);
          expect(at(START + DAY).targetMicros).toBe(budgetMicros);
          const tol = Math.floor((budgetMicros * toleranceBp) / SERVE_FRACTION_SCALE);
          expect(early.allowedMicros).toBe(Math.min(budgetMicros, early.targetMicros + tol));
          // The even target is the budget times the elapsed fraction, floored.
          expect(Math.abs(early.targetMicros - (budgetMicros * Math.min(a, b)) / DAY)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it("ahead of pace exactly when allowed <= net < budget; serve_fraction falls from 1 to 0 across the band", () => {
    fc.assert(
      fc.property(
        paced,
        shape,
        moderateBudget,
        net,
        net,
        offset,
        tolerance,
        (pacing, weights, budgetMicros, n1, n2, at, toleranceBp) => {
          const decide = (netMicros: number) =>
            decidePacing({
              pacing,
              budgetMicros,
              netMicros,
              periodStartMs: START,
              periodEndMs: START + DAY,
              nowMs: START + at,
              toleranceBp,
              shape: weights,
            });
          const d = decide(n1);
          expect(d.aheadOfPace).toBe(n1 >= d.allowedMicros && n1 < budgetMicros);
          expect(d.targetMicros).toBeLessThanOrEqual(d.allowedMicros);
          expect(d.allowedMicros).toBeLessThanOrEqual(budgetMicros);
          expect(d.serveFractionBp).toBeGreaterThanOrEqual(0);
          expect(d.serveFractionBp).toBeLessThanOrEqual(SERVE_FRACTION_SCALE);
          if (n1 <= d.targetMicros && n1 < d.allowedMicros)
            expect(d.serveFractionBp).toBe(SERVE_FRACTION_SCALE);
          if (n1 >= d.allowedMicros) expect(d.serveFractionBp).toBe(0);
          // More spend never serves more.
          const [low, high] = n1 <= n2 ? [n1, n2] : [n2, n1];
          expect(decide(high).serveFractionBp).toBeLessThanOrEqual(decide(low).serveFractionBp);
        },
      ),
    );
  });

  it("shaped without a usable shape is even; a flat shape paces like even to the micro (within rounding)", () => {
    fc.assert(
      fc.property(
        moderateBudget,
        fc.integer({ min: 0, max: DAY }),
        fc.constantFrom(null, new Array(SHAPE_HOURS).fill(0), [1, 2, 3]),
        fc.integer({ min: 1, max: 1000 }),
        (budgetMicros, at, unusable, flat) => {
          const input = {
            budgetMicros,
            netMicros: 0,
            periodStartMs: START,
            periodEndMs: START + DAY,
            nowMs: START + at,
            toleranceBp: 500,
          };
          const even = decidePacing({ ...input, pacing: "even" });
          expect(decidePacing({ ...input, pacing: "shaped", shape: unusable })).toEqual(even);
          const flatShape = new Array(SHAPE_HOURS).fill(flat);
          const shaped = decidePacing({ ...input, pacing: "shaped", shape: flatShape });
          expect(Math.abs(shaped.targetMicros - even.targetMicros)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  it("shaped follows the shape: nothing is allowed beyond tolerance before the first weighted hour", () => {
    const weights = new Array(SHAPE_HOURS).fill(0);
    weights[12] = 1;
    const fraction = (hour: number) =>
      pacingTargetFraction("shaped", START, START + DAY, START + hour * 3_600_000, weights);
    expect(fraction(6)).toBe(0);
    expect(fraction(12.5)).toBeCloseTo(0.5, 12);
    expect(fraction(13)).toBe(1);
  });

  it("refuses inputs outside its contract with a core error", () => {
    const base = {
      pacing: "even" as const,
      budgetMicros: 100,
      netMicros: 0,
      periodStartMs: START,
      periodEndMs: START + DAY,
      nowMs: START,
      toleranceBp: 500,
    };
    for (const bad of [
      { budgetMicros: 0 },
      { netMicros: 0.5 },
      { toleranceBp: 10_001 },
      { toleranceBp: -1 },
    ]) {
      let error: unknown;
      try {
        decidePacing({ ...base, ...bad });
      } catch (caught) {
        error = caught;
      }
      expect(isCoreError(error)).toBe(true);
    }
  });
});

describe("decidePacedServing", () => {
  it("paused, no_budget and budget_exhausted come before ahead_of_pace; serve_fraction is 0 whenever not serving", () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: null }),
        fc.integer({ min: 0, max: 2_000_000 }),
        fc.constantFrom<PacingMode>("asap", "even", "shaped"),
        offset,
        (paused, budgetMicros, periodNetMicros, pacing, at) => {
          const pace = {
            pacing,
            periodStartMs: START,
            periodEndMs: START + DAY,
            nowMs: START + at,
            toleranceBp: 500,
          };
          const decision = decidePacedServing({ paused, budgetMicros, periodNetMicros, pace });
          if (paused) expect(decision.reason).toBe("paused");
          else if (budgetMicros === null || budgetMicros === 0) expect(decision.reason).toBe("no_budget");
          else if (periodNetMicros >= budgetMicros) expect(decision.reason).toBe("budget_exhausted");
          else if (pacing === "asap") expect(decision.reason).toBeNull();
          else {
            const pacingDecision = decidePacing({ ...pace, budgetMicros, netMicros: periodNetMicros });
            expect(decision.reason).toBe(pacingDecision.aheadOfPace ? "ahead_of_pace" : null);
            expect(decision.paceAllowedMicros).toBe(pacingDecision.allowedMicros);
          }
          expect(decision.canServe).toBe(decision.reason === null);
          if (!decision.canServe) expect(decision.serveFractionBp).toBe(0);
        },
      ),
    );
  });
});

describe("pacing and reservations (mayReserve)", () => {
  it("refuses ahead_of_pace at or beyond the allowance, and hard_cap reservations that would pass it", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("observe" as const, "hard_cap" as const),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        (mode, budgetMicros, netMicros, reservedMicros, paceAllowedMicros, maxCost) => {
          const state = { mode, paused: false, budgetMicros, netMicros, reservedMicros, paceAllowedMicros };
          const decision = mayReserve(state, maxCost);
          const unpaced = mayReserve({ ...state, paceAllowedMicros: null }, maxCost);
          if (!unpaced.granted) {
            // Pacing never turns a budget refusal into another one, except ahead_of_pace before the budget check.
            if (decision.reason !== "ahead_of_pace") expect(decision).toEqual(unpaced);
            return;
          }
          const beyond =
            netMicros >= paceAllowedMicros ||
            (mode === "hard_cap" && netMicros + reservedMicros + maxCost > paceAllowedMicros);
          expect(decision.granted).toBe(!beyond);
          if (beyond) expect(decision.reason).toBe("ahead_of_pace");
        },
      ),
    );
  });
});

describe("formatting and settings", () => {
  it("serve_fraction reads 1, 0 or 0.dddd", () => {
    expect(formatServeFraction(10_000)).toBe("1");
    expect(formatServeFraction(0)).toBe("0");
    expect(formatServeFraction(5)).toBe("0.0005");
    expect(formatServeFraction(9_999)).toBe("0.9999");
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), (bp) => {
        expect(Math.round(Number(formatServeFraction(bp)) * 10_000)).toBe(bp);
      }),
    );
  });

  it("PACING_TOLERANCE_PCT becomes basis points", () => {
    expect(toleranceBpOfPct(5)).toBe(500);
    expect(toleranceBpOfPct(0.25)).toBe(25);
    expect(() => toleranceBpOfPct(101)).toThrow();
  });
});

describe("the oracle's pacing decisions", () => {
  it("predicts ahead_of_pace from the pacing in force (later event time wins) and the period net", () => {
    const at = START + 6 * 3_600_000;
    const json = (value: object) => JSON.stringify(value);
    const oracle = new Oracle().observeAll([
      {
        value: json({
          event_type: "budget_update",
          advertiser_id: "a",
          budget_value: 100,
          pacing: "even",
          timestamp: at,
        }),
        timestampMs: at,
      },
      // An older pacing event arriving later does not replace the newer one.
      {
        value: json({
          event_type: "budget_update",
          advertiser_id: "a",
          budget_value: 100,
          pacing: "asap",
          timestamp: at - 1,
        }),
        timestampMs: at,
      },
      {
        value: json({
          event_type: "ad_click",
          click_id: "c1",
          advertiser_id: "a",
          amount: 40,
          timestamp: at + 1,
        }),
        timestampMs: at + 1,
      },
      {
        value: json({ event_type: "budget_update", advertiser_id: "b", budget_value: 100, timestamp: at }),
        timestampMs: at,
      },
    ]);
    const [a, b] = oracle.pacingDecisionsAt(at + 2, 500);
    expect(a).toMatchObject({
      advertiserId: "a",
      pacing: "even",
      decision: { canServe: false, reason: "ahead_of_pace" },
    });
    expect(b).toMatchObject({
      advertiserId: "b",
      pacing: null,
      decision: { canServe: true, serveFractionBp: 10_000 },
    });
    const [later] = oracle.pacingDecisionsAt(START + 12 * 3_600_000, 500);
    expect(later?.decision).toMatchObject({ canServe: true, reason: null, serveFractionBp: 10_000 });
  });
});

/** The mixed stream tests/integration/realtime/pacing-mixed.test.ts also runs through Kafka into Redis. */
const MIXED_PACING_STREAM = {
  seed: 13,
  events: 3_000,
  advertisers: 20,
  startMs: Date.UTC(2027, 2, 14),
  spanMs: 8 * 3_600_000,
  pacingShare: 0.8,
  calendarShare: 0.4,
  budgetMicros: { min: 50_000_000, max: 800_000_000 },
} as const;

describe("the oracle's pacing decisions over generated mixed streams", () => {
  const HOUR = 3_600_000;

  it("each is decidePacedServing of the serving state and the pacing of the latest budget_update (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 16 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 30 * HOUR }),
        tolerance,
        (seed, advertisers, pacingShare, calendarShare, after, toleranceBp) => {
          const startMs = Date.UTC(2027, 2, 13, 20);
          const records = [
            ...generateStream({
              seed,
              events: 800,
              advertisers,
              startMs,
              spanMs: 8 * HOUR,
              pacingShare,
              calendarShare,
              budgetMicros: { min: 20_000_000, max: 400_000_000 },
              shares: { budgetUpdate: 0.03, operatorBudget: 0.01 },
            }),
          ];
          const oracle = new Oracle().observeAll(records);
          // An independent recount of the pacing in force: latest event time, the later record on ties.
          const latest = new Map<string, { pacing: PacingMode; at: number }>();
          const seen = new Set<string>();
          for (const r of records) {
            const event = parseEvent(r.value, { referenceTimeMs: r.timestampMs });
            if (!event.ok || event.advertiserId === null) continue;
            if (event.eventType === "ad_click" && event.clickId !== null) {
              const key = `${event.advertiserId}|${event.clickId}`;
              if (seen.has(key)) continue;
              seen.add(key);
            }
            if (!event.isValid || event.pacing === undefined || event.eventTimeMs === null) continue;
            const current = latest.get(event.advertiserId);
            if (current === undefined || event.eventTimeMs >= current.at)
              latest.set(event.advertiserId, { pacing: event.pacing, at: event.eventTimeMs });
          }
          const nowMs = startMs + 8 * HOUR + after;
          // Shapes for some shaped advertisers: a morning-heavy one (hour 0..5 of the day only).
          const shapes = new Map<string, number[]>();
          for (const id of oracle.advertisers())
            if (id.length % 2 === 0)
              shapes.set(
                id,
                Array.from({ length: 24 }, (_, h) => (h < 6 ? 5 : 0)),
              );
          const states = new Map(oracle.servingStateAt(nowMs).map((s) => [s.advertiserId, s]));
          for (const { advertiserId, pacing, decision } of oracle.pacingDecisionsAt(
            nowMs,
            toleranceBp,
            shapes,
          )) {
            expect(pacing).toBe(latest.get(advertiserId)?.pacing ?? null);
            const state = states.get(advertiserId);
            if (state === undefined) throw new Error(`no state for ${advertiserId}`);
            expect(decision).toEqual(
              decidePacedServing({
                periodNetMicros: state.netMicros,
                budgetMicros: state.budgetMicros,
                pace:
                  pacing === null
                    ? null
                    : {
                        pacing,
                        periodStartMs: state.periodStartMs,
                        periodEndMs: state.periodEndMs,
                        nowMs,
                        toleranceBp,
                        shape: shapes.get(advertiserId) ?? null,
                      },
              }),
            );
            // Pacing only ever holds back what the budget alone would serve; asap and unpaced never.
            if (decision.reason === "ahead_of_pace") {
              expect(state.canServe).toBe(true);
              expect(pacing === "even" || pacing === "shaped").toBe(true);
              expect(state.netMicros).toBeGreaterThanOrEqual(decision.paceAllowedMicros ?? Infinity);
            } else expect(decision.canServe).toBe(state.canServe);
            if (pacing === null || pacing === "asap") expect(decision.paceAllowedMicros).toBeNull();
          }
        },
      ),
      { numRuns: 80 },
    );
  }, 60_000);

  it("a generated mixed stream gives every decision across a day: served, throttled, ahead_of_pace, exhausted", () => {
    const startMs = Date.UTC(2027, 2, 14);
    const records = [...generateStream(MIXED_PACING_STREAM)];
    const oracle = new Oracle().observeAll(records);
    const kinds = new Set<string>();
    const byInstant = [8, 10, 13, 22].map((hour) => oracle.pacingDecisionsAt(startMs + hour * HOUR, 500));
    for (const decisions of byInstant) {
      for (const { pacing, decision } of decisions) {
        const served = decision.serveFractionBp === 10_000 ? "served" : "throttled";
        kinds.add(`${pacing ?? "unpaced"}:${decision.reason ?? served}`);
      }
    }
    for (const kind of ["even:ahead_of_pace", "shaped:ahead_of_pace", "even:throttled", "even:served"])
      expect(kinds).toContain(kind);
    for (const kind of ["shaped:served", "asap:served", "asap:budget_exhausted", "unpaced:served"])
      expect(kinds).toContain(kind);
    // As the day goes on, advertisers held back are served again.
    expect(byInstant[0]).not.toEqual(byInstant[3]);
  });
});

describe("sweepCanChangeServing", () => {
  const notPaced = fc.constantFrom<"asap" | null>("asap", null);
  const instant = fc.integer({ min: 0, max: DAY - 1 });

  it("a hash it skips decides the same at every instant of its period", () => {
    fc.assert(
      fc.property(
        notPaced,
        fc.option(budget, { nil: null }),
        net.filter((n) => n >= 0),
        fc.boolean(),
        tolerance,
        instant,
        instant,
        (pacing, budgetMicros, periodNetMicros, paused, toleranceBp, at, later) => {
          expect(sweepCanChangeServing({ pacing, periodStartMs: START }, { startMs: START })).toBe(false);
          const decide = (nowMs: number) =>
            decidePacedServing({
              periodNetMicros,
              budgetMicros,
              paused,
              pace:
                pacing === null
                  ? null
                  : { pacing, periodStartMs: START, periodEndMs: START + DAY, nowMs, toleranceBp },
            });
          expect(decide(START + later)).toEqual(decide(START + at));
        },
      ),
    );
  });

  it("re-evaluates paced hashes, hashes whose period is over and hashes without a period", () => {
    fc.assert(
      fc.property(
        fc.option(fc.constantFrom("asap", "even", "shaped", "bogus"), { nil: null }),
        fc.integer({ min: 1, max: 10 * DAY }),
        (pacing, ahead) => {
          const moves = pacing === "even" || pacing === "shaped" || pacing === "bogus";
          expect(sweepCanChangeServing({ pacing, periodStartMs: START }, { startMs: START })).toBe(moves);
          expect(sweepCanChangeServing({ pacing, periodStartMs: START }, { startMs: START + ahead })).toBe(
            true,
          );
          expect(sweepCanChangeServing({ pacing, periodStartMs: null }, { startMs: START })).toBe(true);
          // A window older than the stored period (clock behind the hash) rolls nothing back.
          expect(sweepCanChangeServing({ pacing, periodStartMs: START }, { startMs: START - ahead })).toBe(
            moves,
          );
        },
      ),
    );
  });

  it("a paced hash's decision does move within its period", () => {
    const decide = (nowMs: number) =>
      decidePacedServing({
        periodNetMicros: 600_000,
        budgetMicros: 1_000_000,
        pace: { pacing: "even", periodStartMs: START, periodEndMs: START + DAY, nowMs, toleranceBp: 500 },
      });
    expect(sweepCanChangeServing({ pacing: "even", periodStartMs: START }, { startMs: START })).toBe(true);
    expect(decide(START + DAY / 4).canServe).toBe(false);
    expect(decide(START + (3 * DAY) / 4).canServe).toBe(true);
  });
});
