import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { MS_PER_DAY, MS_PER_HOUR } from "../src/civil.js";
import { CoreError } from "../src/errors.js";
import { type GeneratedRecord, type GeneratorOptions, generateStream } from "../src/generator.js";
import { addMicros } from "../src/money.js";
import { computeOracle, type GoldRow, Oracle, type OracleRecord } from "../src/oracle.js";
import { parseEvent } from "../src/parse-event.js";
import { type BudgetObservation, budgetInForce, budgetObservation, clickDedupKey } from "../src/spend.js";

// 1,000-case property tests need more than the default 5 s on a small shared machine.
vi.setConfig({ testTimeout: 60_000 });

const H = MS_PER_HOUR;
const DAY = Date.UTC(2026, 10, 25);
const at = (hour: number, minute = 0): number => DAY + hour * H + minute * 60_000;

function rec(value: Record<string, unknown> | string, timestampMs: number): OracleRecord {
  return { value: typeof value === "string" ? value : JSON.stringify(value), timestampMs };
}

const clickAt = (
  id: string,
  amount: number | string,
  eventMs: number,
  extra: Record<string, unknown> = {},
) => ({
  event_type: "ad_click",
  click_id: id,
  advertiser: "Acme",
  advertiser_id: "adv-1",
  amount,
  timestamp: eventMs,
  ...extra,
});
const budgetAt = (budget: number, eventMs: number) => ({
  event_type: "budget_update",
  advertiser_id: "adv-1",
  budget_value: budget,
  timestamp: eventMs,
});

/** A small stream whose Gold rows were computed by hand. */
function scenario(): OracleRecord[] {
  const c1 = JSON.stringify(clickAt("c1", 4, at(10, 15)));
  return [
    rec(budgetAt(10, at(10)), at(10, 0) + 1000),
    rec(c1, at(10, 15)),
    rec(clickAt("c2", "3", at(10, 40)), at(10, 40)),
    rec(c1, at(10, 50)), // producer retry: duplicate
    rec(clickAt("c3", 5, at(11, 5), { budget_value: -1 }), at(11, 5)), // invalid: gross only
    rec(clickAt("c4", 2.5, at(11, 10)), at(11, 10)),
    rec(clickAt("c5", 1, at(11, 20)), at(11, 20)),
    rec(budgetAt(20, at(12, 5)), at(12, 5)),
    rec(clickAt("c6", 1, at(12, 10)), at(12, 10)),
    rec(clickAt("c7", 9, at(12, 0) - 8 * MS_PER_DAY), at(12, 15)), // late: gross in its old window, never net
    rec(clickAt("c8", 0.5, at(9, 50)), at(12, 20)), // out of order, within the horizon
    rec("{not json", at(12, 21)),
    rec(
      '{"event_type":"ad_click","click_id":"s1","advertiser":"advertiser-9","ad_id":"ad-1","amount":0.50,"budget_value":1000.0,"timestamp":"2026-11-25T12:30:00.250000"}',
      at(12, 31),
    ),
    rec(clickAt("c9", 1, at(24, 30)), at(24, 30)), // next day: the period resets
    rec(clickAt("c1", 4, at(13)), at(13)), // same click_id, different content: still a duplicate
  ];
}

describe("Oracle on a hand-computed stream", () => {
  const oracle = computeOracle(scenario());
  const rows = oracle.goldRows();
  const row = (advertiserId: string, windowStartMs: number): GoldRow | undefined =>
    rows.find((r) => r.advertiserId === advertiserId && r.windowStartMs === windowStartMs);

  it("counts Bronze and Silver", () => {
    expect(oracle.bronze()).toEqual({
      rows: 15,
      parsed: 14,
      rejected: 1,
      rejectedByReason: {
        payload_too_large: 0,
        payload_empty: 0,
        invalid_utf8: 0,
        malformed_json: 1,
        not_an_object: 0,
      },
    });
    const silver = oracle.silver();
    expect(silver).toMatchObject({ events: 14, duplicates: 2, valid: 10, invalid: 2 });
    expect(silver.errorCounts.budget_negative).toBe(1);
    expect(silver.errorCounts.timestamp_too_late).toBe(1);
    expect(silver.warningCounts).toEqual({
      advertiser_id_defaulted: 1,
      timestamp_naive_utc: 1,
      unknown_fields: 0,
    });
  });

  it("builds the hourly Gold rows with budget in force and can_serve at each window end", () => {
    expect(row("adv-1", at(9))).toMatchObject({
      grossMicros: 500_000,
      netMicros: 500_000,
      recordCount: 1,
      budgetMicros: null, // the first budget's event time is 10:00:00, not before 10:00
      budgetSource: null,
      periodNetMicros: 500_000,
      canServe: false,
      reason: "no_budget",
    });
    expect(row("adv-1", at(10))).toMatchObject({
      advertiser: "Acme",
      windowEndMs: at(11),
      spendDayMs: DAY,
      spendMonthMs: Date.UTC(2026, 10, 1),
      grossMicros: 7_000_000,
      netMicros: 7_000_000,
      recordCount: 2,
      validClicks: 2,
      invalidClicks: 0,
      duplicateClicks: 1,
      budgetMicros: 10_000_000,
      budgetSource: "budget_update",
      budgetPeriodId: "2026-11-25",
      periodNetMicros: 7_500_000,
      canServe: true,
      reason: null,
    });
    expect(row("adv-1", at(11))).toMatchObject({
      grossMicros: 8_500_000,
      netMicros: 3_500_000,
      recordCount: 3,
      validClicks: 2,
      invalidClicks: 1,
      budgetMicros: 10_000_000,
      periodNetMicros: 11_000_000,
      canServe: false,
      reason: "budget_exhausted",
    });
    expect(row("adv-1", at(12))).toMatchObject({
      grossMicros: 1_000_000,
      netMicros: 1_000_000,
      budgetMicros: 20_000_000,
      periodNetMicros: 12_000_000,
      canServe: true,
    });
    expect(row("adv-1", at(13))).toMatchObject({
      recordCount: 0,
      duplicateClicks: 1,
      grossMicros: 0,
      periodNetMicros: 12_000_000,
    });
    expect(row("adv-1", at(12) - 8 * MS_PER_DAY)).toMatchObject({
      grossMicros: 9_000_000,
      netMicros: 0,
      invalidClicks: 1,
      budgetMicros: null,
      canServe: false,
    });
    expect(row("adv-1", at(24))).toMatchObject({
      netMicros: 1_000_000,
      budgetPeriodId: "2026-11-26",
      periodNetMicros: 1_000_000,
      budgetMicros: 20_000_000,
      canServe: true,
    });
    expect(row("advertiser-9", at(12))).toMatchObject({
      advertiser: "advertiser-9",
      netMicros: 500_000,
      budgetMicros: 1_000_000_000,
      budgetSource: "click",
      canServe: true,
    });
    expect(rows).toHaveLength(8);
    expect(rows.map((r) => [r.advertiserId, r.windowStartMs])).toEqual(
      [...rows]
        .sort((a, b) =>
          a.advertiserId === b.advertiserId
            ? a.windowStartMs - b.windowStartMs
            : a.advertiserId < b.advertiserId
              ? -1
              : 1,
        )
        .map((r) => [r.advertiserId, r.windowStartMs]),
    );
  });

  it("gives the serving state of the period containing a time", () => {
    const today = oracle.servingStateAt(at(12, 30)).find((s) => s.advertiserId === "adv-1");
    expect(today).toEqual({
      advertiserId: "adv-1",
      period: "2026-11-25",
      periodStartMs: DAY,
      periodEndMs: DAY + MS_PER_DAY,
      netMicros: 12_000_000,
      grossMicros: 17_000_000,
      overCapMicros: 0,
      budgetMicros: 20_000_000,
      budgetSource: "budget_update",
      mode: "observe",
      calendar: null,
      clicks: 7,
      validClicks: 6,
      invalidClicks: 1,
      canServe: true,
      reason: null,
      overspendMicros: 0,
    });
    const tomorrow = oracle.servingStateAt(at(24, 45)).find((s) => s.advertiserId === "adv-1");
    expect(tomorrow).toMatchObject({ period: "2026-11-26", netMicros: 1_000_000, clicks: 1, canServe: true });
    const hourly = oracle.servingStateAt(at(11, 30), "hour").find((s) => s.advertiserId === "adv-1");
    expect(hourly).toMatchObject({
      period: "2026-11-25T11",
      netMicros: 3_500_000,
      grossMicros: 8_500_000,
      canServe: true,
    });
    expect(oracle.advertisers()).toEqual(["adv-1", "advertiser-9"]);
  });

  it("a lower budget than period spend reports overspend", () => {
    const small = computeOracle([...scenario(), rec(budgetAt(5, at(25)), at(25))]);
    const state = small.servingStateAt(at(12)).find((s) => s.advertiserId === "adv-1");
    expect(state).toMatchObject({
      budgetMicros: 5_000_000,
      canServe: false,
      reason: "budget_exhausted",
      overspendMicros: 7_000_000,
    });
  });

  it("resolves budget ties by partition order and ignores invalid and duplicate budgets", () => {
    const o = computeOracle([
      rec(clickAt("d0", 1, at(9, 10), { budget_value: 7 }), at(9, 10)),
      rec(clickAt("d1", 1, at(10, 40), { budget_value: 5 }), at(10, 40)),
      rec(clickAt("d1", 1, at(10, 40), { budget_value: 500 }), at(10, 41)), // duplicate: its budget is ignored
      rec(clickAt("d2", 1, at(10, 45), { budget_value: 6 }), at(10, 45)),
      rec(clickAt("d3", 1, at(10, 45), { budget_value: 8 }), at(10, 46)), // same time, later: wins
    ]);
    expect(o.servingStateAt(at(11))[0]).toMatchObject({ budgetMicros: 8_000_000, budgetSource: "click" });
    expect(o.goldRows()[0]).toMatchObject({ budgetMicros: 7_000_000, budgetSource: "click" });
    expect(o.goldRows()[1]).toMatchObject({ budgetMicros: 8_000_000, duplicateClicks: 1 });
    const explicit = computeOracle([
      rec(budgetAt(10, at(10)), at(10)),
      rec(budgetAt(30, at(10)), at(10)), // same event time, later in the partition: wins
      rec(budgetAt(99, at(9)), at(10, 1)), // earlier event time: does not win
      rec({ ...budgetAt(77, at(10, 30)), budget_value: -77 }, at(10, 30)), // invalid: ignored
      rec(clickAt("d1", 1, at(10, 40), { budget_value: 5 }), at(10, 40)), // click-carried: an explicit one rules
    ]);
    expect(explicit.servingStateAt(at(11))[0]).toMatchObject({
      budgetMicros: 30_000_000,
      budgetSource: "budget_update",
      netMicros: 1_000_000,
    });
    expect(explicit.goldRows()[0]).toMatchObject({ budgetMicros: 30_000_000, budgetSource: "budget_update" });
    const tie = computeOracle([rec(budgetAt(10, at(10)), at(10)), rec(budgetAt(30, at(10)), at(10))]);
    expect(tie.servingStateAt(at(11))[0]?.budgetMicros).toBe(30_000_000);
  });

  it("supports other budget periods and time zones for can_serve", () => {
    const monthly = computeOracle(scenario(), { budgetPeriod: "month" });
    const next = monthly.goldRows().find((r) => r.advertiserId === "adv-1" && r.windowStartMs === at(24));
    expect(next).toMatchObject({ budgetPeriodId: "2026-11", periodNetMicros: 13_000_000, canServe: true });
    const ny = computeOracle(scenario(), { timeZone: "America/New_York" });
    const late = ny.goldRows().find((r) => r.advertiserId === "adv-1" && r.windowStartMs === at(24));
    // 00:30 UTC on the 26th is still the 25th in New York: the day's spend continues.
    expect(late).toMatchObject({ budgetPeriodId: "2026-11-25", periodNetMicros: 13_000_000 });
  });

  it("keeps per-record outcomes on request, and refuses otherwise", () => {
    const kept = new Oracle({ keepOutcomes: true }).observeAll(
      scenario().map((r, i) => ({ ...r, partition: 0, offset: i })),
    );
    const outcomes = kept.outcomes();
    expect(outcomes).toHaveLength(15);
    expect(outcomes.filter((o) => o.duplicate).map((o) => o.offset)).toEqual([3, 14]);
    expect(() => computeOracle([]).outcomes()).toThrow(CoreError);
    expect(() => new Oracle().observe({ value: "{}", timestampMs: Number.NaN })).toThrowError(
      expect.objectContaining({ code: "ADP_CORE_INVALID_OPTIONS" }),
    );
    expect(() => new Oracle({ timeZone: "Nowhere/Land" })).toThrowError(
      expect.objectContaining({ code: "ADP_CORE_INVALID_TIME_ZONE" }),
    );
  });
});

describe("Oracle invariants on generated streams", () => {
  const streamOptions = fc.record({
    seed: fc.integer({ min: 0, max: 2 ** 31 }),
    events: fc.integer({ min: 0, max: 100 }),
    advertisers: fc.integer({ min: 1, max: 8 }),
    zipfExponent: fc.double({ min: 0, max: 2, noNaN: true }),
    spanMs: fc.integer({ min: 0, max: 3 * MS_PER_DAY }),
    shares: fc.record({
      duplicate: fc.double({ min: 0, max: 0.2, noNaN: true }),
      malformed: fc.double({ min: 0, max: 0.1, noNaN: true }),
      late: fc.double({ min: 0, max: 0.1, noNaN: true }),
      future: fc.double({ min: 0, max: 0.1, noNaN: true }),
      invalid: fc.double({ min: 0, max: 0.2, noNaN: true }),
      budgetUpdate: fc.double({ min: 0, max: 0.1, noNaN: true }),
      operatorBudget: fc.double({ min: 0, max: 0.1, noNaN: true }),
      outOfOrder: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
    budgetChannel: fc.constantFrom("events" as const, "clicks" as const),
    budgetMicros: fc.constantFrom(
      { min: 1_000_000, max: 20_000_000 },
      { min: 20_000_000, max: 2_000_000_000 },
    ),
  });

  it("gross ≥ net, valid + invalid = record_count, totals match the stream, deterministic per seed", () => {
    fc.assert(
      fc.property(streamOptions, (options: GeneratorOptions) => {
        const records: GeneratedRecord[] = [...generateStream(options)];
        const oracle = computeOracle(records);
        const rows = oracle.goldRows();
        const kinds = { click: 0, duplicate: 0, malformed: 0 };
        for (const r of records) if (r.kind in kinds) kinds[r.kind as keyof typeof kinds]++;

        expect(oracle.bronze().rows).toBe(records.length);
        expect(oracle.bronze().rejected).toBe(kinds.malformed);
        expect(oracle.silver().duplicates).toBe(kinds.duplicate);

        // An independent recount of the stream.
        const seen = new Set<string>();
        const budgets = new Map<string, BudgetObservation[]>();
        let gross = 0;
        let net = 0;
        let clicks = 0;
        let duplicatesInGold = 0;
        for (const r of records) {
          const p = parseEvent(r.value, { referenceTimeMs: r.timestampMs });
          if (!p.ok) continue;
          const key = clickDedupKey(p);
          const duplicate = key !== null && seen.has(key);
          if (key !== null) seen.add(key);
          const observation = duplicate ? null : budgetObservation(p);
          if (observation !== null) {
            const list = budgets.get(observation.advertiserId) ?? [];
            list.push(observation);
            budgets.set(observation.advertiserId, list);
          }
          if (p.eventType !== "ad_click" || p.advertiserId === null) continue;
          if (p.eventTimeMs === null) continue;
          if (duplicate) duplicatesInGold++;
          else {
            clicks++;
            gross = addMicros(gross, p.amountMicros ?? 0);
            if (p.isValid) net = addMicros(net, p.amountMicros ?? 0);
          }
        }
        let rowGross = 0;
        let rowNet = 0;
        let rowClicks = 0;
        let rowValid = 0;
        let rowDuplicates = 0;
        // Row invariants are checked as one boolean per row: thousands of expect() calls would dominate the run.
        const broken = rows.filter(
          (row) =>
            row.grossMicros < row.netMicros ||
            row.netMicros < 0 ||
            row.validClicks + row.invalidClicks !== row.recordCount ||
            row.windowEndMs - row.windowStartMs !== MS_PER_HOUR ||
            row.periodNetMicros < row.netMicros ||
            (row.canServe && (row.budgetMicros ?? 0) <= row.periodNetMicros),
        );
        expect(broken).toEqual([]);
        // The budget of every window is the precedence rule folded over the log up to the window end.
        const wrongBudget = rows.filter((row) => {
          const want = budgetInForce(budgets.get(row.advertiserId) ?? [], row.windowEndMs);
          return (
            row.budgetMicros !== (want?.budgetMicros ?? null) || row.budgetSource !== (want?.source ?? null)
          );
        });
        expect(wrongBudget).toEqual([]);
        for (const row of rows) {
          rowGross += row.grossMicros;
          rowNet += row.netMicros;
          rowClicks += row.recordCount;
          rowValid += row.validClicks;
          rowDuplicates += row.duplicateClicks;
        }
        expect(rowGross).toBe(gross);
        expect(rowNet).toBe(net);
        expect(rowClicks).toBe(clicks);
        expect(rowValid).toBe(kinds.click);
        expect(rowDuplicates).toBe(duplicatesInGold);

        // The serving state of a day is the sum of that day's Gold rows.
        const lastTime = records.at(-1)?.timestampMs ?? 0;
        for (const state of oracle.servingStateAt(lastTime)) {
          const ofDay = rows.filter(
            (r) =>
              r.advertiserId === state.advertiserId &&
              r.windowStartMs >= state.periodStartMs &&
              r.windowStartMs < state.periodEndMs,
          );
          expect(state.netMicros).toBe(ofDay.reduce((s, r) => s + r.netMicros, 0));
          expect(state.grossMicros).toBe(ofDay.reduce((s, r) => s + r.grossMicros, 0));
          expect(state.clicks).toBe(ofDay.reduce((s, r) => s + r.recordCount, 0));
          expect(state.overspendMicros).toBe(Math.max(0, state.netMicros - (state.budgetMicros ?? 0)));
          const want = budgetInForce(budgets.get(state.advertiserId) ?? []);
          expect([state.budgetMicros, state.budgetSource]).toEqual([
            want?.budgetMicros ?? null,
            want?.source ?? null,
          ]);
        }

        // Determinism: the same options give the same expected rows.
        expect(computeOracle(generateStream(options)).goldRows()).toEqual(rows);
      }),
      { numRuns: 1000 },
    );
  }, 120_000);

  it("operator budgets interleaved with click-carried ones: the operator's value holds until the next explicit one", () => {
    const records = [
      ...generateStream({
        seed: 7,
        events: 6_000,
        advertisers: 6,
        budgetChannel: "clicks",
        shares: { operatorBudget: 0.01 },
      }),
    ];
    const oracle = computeOracle(records);
    const sources = new Set(oracle.goldRows().map((row) => row.budgetSource));
    expect(sources).toEqual(new Set([null, "click", "api", "budget_update"]));
    // Clicks in this stream never carry the operators' values, so after the first explicit budget of an
    // advertiser every later Gold window shows an explicit source.
    const firstExplicit = new Map<string, number>();
    for (const row of oracle.goldRows()) {
      if (row.budgetSource !== "click" && row.budgetSource !== null && !firstExplicit.has(row.advertiserId))
        firstExplicit.set(row.advertiserId, row.windowStartMs);
    }
    const reverted = oracle
      .goldRows()
      .filter((row) => row.windowStartMs > (firstExplicit.get(row.advertiserId) ?? Infinity))
      .filter((row) => row.budgetSource === "click");
    expect(reverted).toEqual([]);
    expect(records.some((r) => r.kind === "budget_update")).toBe(true);
  }, 30_000);

  it("a larger default stream exercises every serving outcome", () => {
    const oracle = computeOracle(
      generateStream({
        seed: 99,
        events: 20_000,
        advertisers: 10,
        budgetMicros: { min: 20_000_000, max: 400_000_000 },
      }),
    );
    const reasons = new Set(oracle.goldRows().map((r) => r.reason));
    expect(reasons).toEqual(new Set([null, "budget_exhausted", "no_budget"]));
  }, 30_000);
});
