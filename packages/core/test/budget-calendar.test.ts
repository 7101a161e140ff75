import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { type AlertKey, alertKeyOf } from "../src/alerts.js";
import { supersedesMode } from "../src/billing.js";
import {
  type BudgetCalendar,
  calendarEpochs,
  calendarInForce,
  clickPeriodOf,
  emptyCalendarState,
  foldCalendar,
  goldRowPeriodNet,
  observeCalendar,
  sameCalendar,
  supersedesSetting,
} from "../src/budget-calendar.js";
import { budgetPeriodOf, periodsToEvaluate } from "../src/budget-period.js";
import { MS_PER_HOUR } from "../src/civil.js";
import { BUDGET_MODES, BUDGET_PERIODS } from "../src/contract.js";
import { generateStream } from "../src/generator.js";
import { Oracle } from "../src/oracle.js";
import { parseEvent } from "../src/parse-event.js";

vi.setConfig({ testTimeout: 60_000 });

const RUNS = { numRuns: 500 };
const ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu"] as const;
const DEFAULTS: BudgetCalendar = { period: "day", timeZone: "UTC" };
const time = fc.integer({ min: Date.UTC(2026, 0, 1), max: Date.UTC(2027, 0, 1) });
const setting = fc.record({
  eventTimeMs: time,
  period: fc.option(fc.constantFrom(...BUDGET_PERIODS), { nil: undefined }),
  timeZone: fc.option(fc.constantFrom(...ZONES), { nil: undefined }),
});

describe("supersedesSetting: one rule for mode, period and time zone", () => {
  it("is supersedesMode, and the later event time (ties: the later record) wins", () => {
    fc.assert(
      fc.property(
        fc.option(time, { nil: null }),
        time,
        fc.constantFrom(...BUDGET_MODES),
        (current, t, mode) => {
          const cur = current === null ? null : { mode, eventTimeMs: current };
          const candidate = { mode, eventTimeMs: t };
          expect(supersedesSetting(cur, candidate)).toBe(supersedesMode(cur, candidate));
          expect(supersedesSetting(cur, candidate)).toBe(current === null || t >= current);
        },
      ),
      RUNS,
    );
  });

  it("the calendar in force does not depend on the order of updates with distinct times", () => {
    fc.assert(
      fc.property(fc.uniqueArray(setting, { selector: (s) => s.eventTimeMs, maxLength: 8 }), (updates) => {
        const forward = emptyCalendarState();
        for (const u of updates) observeCalendar(forward, u.eventTimeMs, u.period, u.timeZone);
        const backward = emptyCalendarState();
        for (const u of [...updates].reverse())
          observeCalendar(backward, u.eventTimeMs, u.period, u.timeZone);
        expect(calendarInForce(backward, DEFAULTS)).toEqual(calendarInForce(forward, DEFAULTS));
        // Each setting is that of the latest update that set it, else the default.
        const latest = <K extends "period" | "timeZone">(key: K) =>
          [...updates].filter((u) => u[key] !== undefined).sort((a, b) => b.eventTimeMs - a.eventTimeMs)[0]?.[
            key
          ];
        expect(calendarInForce(forward, DEFAULTS)).toEqual({
          period: latest("period") ?? DEFAULTS.period,
          timeZone: latest("timeZone") ?? DEFAULTS.timeZone,
        });
      }),
      RUNS,
    );
  });

  it("an advertiser that never set a calendar gets exactly the service-wide period", () => {
    fc.assert(
      fc.property(
        time,
        fc.constantFrom(...BUDGET_PERIODS),
        fc.constantFrom(...ZONES),
        (t, period, timeZone) => {
          const defaults = { period, timeZone };
          expect(clickPeriodOf(t, null, defaults)).toEqual(budgetPeriodOf(t, period, timeZone));
          expect(clickPeriodOf(t, emptyCalendarState(), defaults)).toEqual(
            budgetPeriodOf(t, period, timeZone),
          );
        },
      ),
      RUNS,
    );
  });

  it("a click's period is that of the calendar in force at its place in the log", () => {
    fc.assert(
      fc.property(fc.array(setting, { maxLength: 6 }), time, (updates, t) => {
        const state = emptyCalendarState();
        for (const u of updates) observeCalendar(state, u.eventTimeMs, u.period, u.timeZone);
        const calendar = calendarInForce(state, DEFAULTS);
        const window = clickPeriodOf(t, state, DEFAULTS);
        expect(window).toEqual(budgetPeriodOf(t, calendar.period, calendar.timeZone));
        expect(t >= window.startMs && t < window.endMs).toBe(true);
      }),
      RUNS,
    );
  });
});

describe("budget_update calendar fields", () => {
  const NOW = Date.UTC(2026, 2, 8, 12);
  const update = (extra: object) =>
    parseEvent(
      JSON.stringify({
        event_type: "budget_update",
        advertiser_id: "a",
        budget_value: 5,
        timestamp: NOW,
        ...extra,
      }),
      { referenceTimeMs: NOW },
    );

  it("reads budget_period and a canonical time_zone; null or absent leaves them unset", () => {
    expect(update({ budget_period: "hour", time_zone: "Asia/Kolkata" })).toMatchObject({
      isValid: true,
      budgetPeriod: "hour",
      timeZone: "Asia/Kolkata",
    });
    expect(update({ time_zone: "europe/berlin" })).toMatchObject({
      isValid: true,
      timeZone: "Europe/Berlin",
    });
    expect(update({ time_zone: "utc" })).toMatchObject({ isValid: true, timeZone: "UTC" });
    expect(update({ budget_period: null, time_zone: null })).toMatchObject({
      isValid: true,
      budgetPeriod: undefined,
      timeZone: undefined,
    });
  });

  it("rejects unknown periods and zones with their own codes", () => {
    expect(update({ budget_period: "week" })).toMatchObject({
      isValid: false,
      errors: ["budget_period_invalid"],
    });
    expect(update({ budget_period: 1 })).toMatchObject({ errors: ["budget_period_invalid"] });
    expect(update({ time_zone: "Mars/Olympus" })).toMatchObject({ errors: ["time_zone_invalid"] });
    expect(update({ time_zone: "" })).toMatchObject({ errors: ["time_zone_invalid"] });
    expect(update({ time_zone: 5 })).toMatchObject({ errors: ["time_zone_invalid"] });
    expect(update({ time_zone: "x".repeat(65) })).toMatchObject({ errors: ["time_zone_invalid"] });
  });

  it("ignores the fields on clicks (like budget_mode)", () => {
    const click = parseEvent(
      JSON.stringify({
        event_type: "ad_click",
        click_id: "c",
        advertiser_id: "a",
        amount: 1,
        timestamp: NOW,
        time_zone: "nope",
        budget_period: "week",
      }),
      { referenceTimeMs: NOW },
    );
    expect(click).toMatchObject({ isValid: true, budgetPeriod: undefined, timeZone: undefined });
  });

  it("the fast path and JSON.parse agree on the new keys", () => {
    const compact = update({ budget_period: "month", time_zone: "America/New_York" });
    const spaced = parseEvent(
      `{ "event_type" : "budget_update", "advertiser_id": "a", "budget_value": 5, "timestamp": ${NOW}, "budget_period": "month", "time_zone": "America\\/New_York" }`,
      { referenceTimeMs: NOW },
    );
    expect(spaced).toEqual(compact);
  });
});

describe("Oracle with per-advertiser calendars", () => {
  const H = MS_PER_HOUR;
  // 2026-03-08: America/New_York springs forward (a 23-hour day, 05:00Z to 04:00Z next day).
  const NY_DAY_START = Date.UTC(2026, 2, 8, 5);
  const rec = (value: object, t: number) => ({ value: JSON.stringify(value), timestampMs: t });

  it("counts a New York day of 23 hours, and the change of calendar takes effect from the next click", () => {
    const oracle = new Oracle();
    const t0 = NY_DAY_START + H;
    oracle.observe(
      rec({ event_type: "budget_update", advertiser_id: "a", budget_value: 100, timestamp: t0 }, t0),
    );
    // Before the calendar change: UTC day 2026-03-08.
    oracle.observe(
      rec({ event_type: "ad_click", click_id: "c1", advertiser_id: "a", amount: 1, timestamp: t0 }, t0),
    );
    const t1 = t0 + H;
    oracle.observe(
      rec(
        {
          event_type: "budget_update",
          advertiser_id: "a",
          budget_value: 100,
          budget_period: "day",
          time_zone: "America/New_York",
          timestamp: t1,
        },
        t1,
      ),
    );
    for (let i = 0; i < 3; i++) {
      const t = t1 + i * 10 * H;
      oracle.observe(
        rec({ event_type: "ad_click", click_id: `n${i}`, advertiser_id: "a", amount: 2, timestamp: t }, t),
      );
    }
    // n0 (07:00Z) and n1 (17:00Z) are in the NY day of 2026-03-08; n2 (03:00Z on the 9th) too: 23 hours.
    const [state] = oracle.servingStateAt(NY_DAY_START + 22 * H);
    expect(state).toMatchObject({
      period: "2026-03-08",
      periodStartMs: NY_DAY_START,
      periodEndMs: NY_DAY_START + 23 * H,
      netMicros: 6_000_000,
      clicks: 3,
      calendar: { period: "day", timeZone: "America/New_York" },
    });
  });

  it("re-stating the zone in force under another name (a link) restarts nothing", () => {
    // Links and their targets cut the same periods: sameCalendar compares the zones, not their spelling.
    const links: [string, string][] = [
      ["Asia/Kolkata", "Asia/Calcutta"],
      ["UTC", "Etc/UTC"],
      ["America/New_York", "US/Eastern"],
    ];
    for (const [a, b] of links) {
      expect(sameCalendar({ period: "day", timeZone: a }, { period: "day", timeZone: b })).toBe(true);
      expect(sameCalendar({ period: "hour", timeZone: a }, { period: "day", timeZone: b })).toBe(false);
    }
    expect(
      sameCalendar({ period: "day", timeZone: "Asia/Kolkata" }, { period: "day", timeZone: "Asia/Dhaka" }),
    ).toBe(false);
    // The service-wide zone configured as a link (as the stores keep BUDGET_TIME_ZONE), re-stated by an update
    // under either name: the click before the update still counts in the period.
    for (const restated of ["Asia/Kolkata", "Asia/Calcutta"]) {
      const oracle = new Oracle({ budgetPeriod: "day", timeZone: "Asia/Kolkata" });
      const t0 = Date.UTC(2026, 5, 1, 6);
      oracle.observe(
        rec({ event_type: "ad_click", click_id: "c1", advertiser_id: "k", amount: 1, timestamp: t0 }, t0),
      );
      oracle.observe(
        rec(
          {
            event_type: "budget_update",
            advertiser_id: "k",
            budget_value: 100,
            time_zone: restated,
            timestamp: t0 + H,
          },
          t0 + H,
        ),
      );
      const [state] = oracle.servingStateAt(t0 + 2 * H);
      expect(state).toMatchObject({ netMicros: 1_000_000, clicks: 1 });
    }
  });

  it("judges exhausted_early on the clicks since the last calendar change, as the period's spend", () => {
    const oracle = new Oracle();
    const t0 = NY_DAY_START + H;
    oracle.observe(
      rec({ event_type: "budget_update", advertiser_id: "a", budget_value: 100, timestamp: t0 }, t0),
    );
    // Under the UTC day: 90 of 100 within the New York day's first hour, which alone would forecast exhaustion.
    oracle.observe(
      rec({ event_type: "ad_click", click_id: "u1", advertiser_id: "a", amount: 90, timestamp: t0 }, t0),
    );
    const t1 = t0 + H;
    oracle.observe(
      rec(
        {
          event_type: "budget_update",
          advertiser_id: "a",
          budget_value: 100,
          budget_period: "day",
          time_zone: "America/New_York",
          timestamp: t1,
        },
        t1,
      ),
    );
    oracle.observe(
      rec({ event_type: "ad_click", click_id: "n1", advertiser_id: "a", amount: 1, timestamp: t1 }, t1),
    );
    // The restarted period holds 1 of 100: no threshold, nothing early, in the pass's lookback either.
    expect(oracle.alertsAt(t1 + H)).toEqual([]);
    expect(oracle.alertsEvaluatedAt(t1 + H, 1)).toEqual([]);
  });

  it("alertsEvaluatedAt: the period of now as alertsAt, lookback in each advertiser's own calendar", () => {
    const start = Date.UTC(2026, 10, 1, 2);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 8 * H }),
        fc.integer({ min: 0, max: 3 }),
        (seed, calendarShare, at, lookback) => {
          const records = [
            ...generateStream({
              seed,
              events: 300,
              advertisers: 14,
              startMs: start,
              spanMs: 6 * H,
              budgetMicros: { min: 1_000_000, max: 40_000_000 },
              calendarShare,
            }),
          ];
          const oracle = new Oracle().observeAll(records);
          const nowMs = start + at;
          const keys = (list: readonly AlertKey[]) => new Set(list.map(alertKeyOf));
          const pass = keys(oracle.alertsEvaluatedAt(nowMs, lookback));
          expect(keys(oracle.alertsEvaluatedAt(nowMs, 0))).toEqual(keys(oracle.alertsAt(nowMs)));
          for (const key of keys(oracle.alertsEvaluatedAt(nowMs, Math.max(0, lookback - 1))))
            expect(pass.has(key)).toBe(true);
          for (const state of oracle.servingStateAt(nowMs)) {
            const calendar = state.calendar ?? DEFAULTS;
            const periods = new Set(
              periodsToEvaluate(nowMs, calendar.period, calendar.timeZone, lookback).map((w) => w.id),
            );
            for (const key of pass)
              if (key.startsWith(`${state.advertiserId}|`))
                expect(periods.has(key.split("|")[1] ?? "")).toBe(true);
          }
          if (calendarShare === 0) {
            // Everyone on the service-wide day: the pass is alertsAt of each period evaluated.
            const union = new Set<string>();
            for (const window of periodsToEvaluate(nowMs, "day", "UTC", lookback))
              for (const key of oracle.alertsAt(window.startMs)) union.add(alertKeyOf(key));
            expect(pass).toEqual(union);
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it("a generated stream with calendarShare 0 is byte-identical to one without the option", () => {
    const plain = [...generateStream({ seed: 7, events: 400 })];
    const zero = [...generateStream({ seed: 7, events: 400, calendarShare: 0 })];
    expect(zero.map((r) => r.value)).toEqual(plain.map((r) => r.value));
    const mixed = [...generateStream({ seed: 7, events: 400, calendarShare: 1 })];
    expect(
      mixed.some((r) => new TextDecoder().decode(r.value).includes('"time_zone":"America/New_York"')),
    ).toBe(true);
  });
});

describe("foldCalendar (the rebuild's replay of a calendar history)", () => {
  it("ends in observeCalendar's state, and the last change is the last record after which the calendar in force differs", () => {
    fc.assert(
      fc.property(fc.array(setting, { maxLength: 12 }), (settings) => {
        const observations = settings.map((s, position) => ({ ...s, position }));
        const { state, lastChange } = foldCalendar(observations, DEFAULTS);
        const expected = emptyCalendarState();
        let last: number | null = null;
        for (const o of observations) {
          const before = calendarInForce(expected, DEFAULTS);
          observeCalendar(expected, o.eventTimeMs, o.period, o.timeZone);
          if (!sameCalendar(before, calendarInForce(expected, DEFAULTS))) last = o.position;
        }
        expect(state).toEqual(expected);
        expect(lastChange).toBe(last);
        // After the last change the calendar in force is the final one; no change at all keeps the defaults.
        const tail = foldCalendar(observations.slice(0, (lastChange ?? -1) + 1), DEFAULTS);
        expect(calendarInForce(tail.state, DEFAULTS)).toEqual(calendarInForce(state, DEFAULTS));
        if (lastChange === null) expect(calendarInForce(state, DEFAULTS)).toEqual(DEFAULTS);
      }),
      RUNS,
    );
  });
});

describe("calendarEpochs and goldRowPeriodNet: Gold rows of own calendars", () => {
  const calendar = fc.record({
    period: fc.constantFrom(...BUDGET_PERIODS),
    timeZone: fc.constantFrom(...ZONES),
  });

  it("calendarEpochs keeps every change foldCalendar sees, starting from the defaults", () => {
    fc.assert(
      fc.property(fc.array(setting, { maxLength: 12 }), (settings) => {
        const observations = settings.map((s, position) => ({ ...s, position }));
        const epochs = calendarEpochs(observations, DEFAULTS);
        const { state, lastChange } = foldCalendar(observations, DEFAULTS);
        expect(epochs[0]).toEqual({ start: null, calendar: DEFAULTS });
        expect(epochs.at(-1)?.start ?? null).toBe(lastChange);
        expect(epochs.at(-1)?.calendar).toEqual(calendarInForce(state, DEFAULTS));
        for (let i = 1; i < epochs.length; i++)
          expect(sameCalendar(epochs[i - 1]!.calendar, epochs[i]!.calendar)).toBe(false);
      }),
      RUNS,
    );
  });

  it("a row counts its last record's epoch only, in that epoch's calendar, up to the end of its hour", () => {
    const hour = fc.integer({
      min: Date.UTC(2026, 0, 2) / MS_PER_HOUR,
      max: Date.UTC(2026, 11, 30) / MS_PER_HOUR,
    });
    fc.assert(
      fc.property(
        hour,
        fc.array(calendar, { minLength: 1, maxLength: 4 }),
        fc.array(
          fc.record({
            offsetMs: fc.integer({ min: -40 * MS_PER_HOUR, max: 3 * MS_PER_HOUR }),
            netMicros: fc.integer({ min: 0, max: 5_000_000 }),
            epoch: fc.nat(3),
          }),
          { maxLength: 30 },
        ),
        (h, epochs, raw) => {
          const windowStartMs = h * MS_PER_HOUR;
          const windowEndMs = windowStartMs + MS_PER_HOUR;
          const contributions = raw.map((c) => ({
            eventTimeMs: windowStartMs + c.offsetMs,
            netMicros: c.netMicros,
            epoch: c.epoch % epochs.length,
          }));
          const { period, periodNetMicros } = goldRowPeriodNet(
            windowStartMs,
            windowEndMs,
            epochs,
            contributions,
          );
          const inHour = contributions.filter(
            (c) => c.eventTimeMs >= windowStartMs && c.eventTimeMs < windowEndMs,
          );
          const epoch = Math.max(0, ...inHour.map((c) => c.epoch));
          const own = epochs[epoch]!;
          expect(period).toEqual(budgetPeriodOf(windowStartMs, own.period, own.timeZone));
          const endMs = Math.min(windowEndMs, period.endMs);
          const want = contributions
            .filter((c) => c.epoch === epoch && c.eventTimeMs >= period.startMs && c.eventTimeMs < endMs)
            .reduce((sum, c) => sum + c.netMicros, 0);
          expect(periodNetMicros).toBe(want);
          // One epoch: the service-wide rule, the period-to-date net by event time.
          if (epochs.length === 1)
            expect(periodNetMicros).toBe(
              contributions
                .filter((c) => c.eventTimeMs >= period.startMs && c.eventTimeMs < endMs)
                .reduce((sum, c) => sum + c.netMicros, 0),
            );
        },
      ),
      RUNS,
    );
  });
});
