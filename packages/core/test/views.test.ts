import { describe, expect, it } from "vitest";
import { MS_PER_HOUR } from "../src/civil.js";
import { computeOracle } from "../src/oracle.js";
import { advertiserTotals, dailySpend, hourlySpend, monthlySpend } from "../src/views.js";

const at = (day: number, hour: number): number => Date.UTC(2026, 10, day, hour, 10);
const click = (id: string, adv: string, amount: number, t: number) =>
  JSON.stringify({
    event_type: "ad_click",
    click_id: id,
    advertiser: `Name ${adv}`,
    advertiser_id: adv,
    amount,
    timestamp: t,
  });
const budget = (adv: string, value: number, t: number) =>
  JSON.stringify({ event_type: "budget_update", advertiser_id: adv, budget_value: value, timestamp: t });

describe("roll-ups of Gold rows for the seed's views", () => {
  const oracle = computeOracle(
    [
      { value: budget("a", 100, at(25, 0)), timestampMs: at(25, 0) },
      { value: click("1", "a", 1, at(25, 9)), timestampMs: at(25, 9) },
      { value: click("2", "a", 2, at(25, 9)), timestampMs: at(25, 9) },
      { value: click("3", "a", 4, at(25, 17)), timestampMs: at(25, 17) },
      { value: budget("a", 3, at(26, 0)), timestampMs: at(26, 0) },
      { value: click("4", "a", 8, at(26, 1)), timestampMs: at(26, 1) },
      { value: click("5", "b", 16, at(30, 23)), timestampMs: at(30, 23) },
      { value: click("6", "b", 32, Date.UTC(2026, 11, 1, 0, 5)), timestampMs: Date.UTC(2026, 11, 1, 0, 5) },
    ],
    {},
  );
  const rows = oracle.goldRows();

  it("hourly: one roll-up per Gold row", () => {
    const hourly = hourlySpend(rows);
    expect(hourly).toHaveLength(rows.length);
    expect(hourly[0]).toMatchObject({
      advertiserId: "a",
      startMs: Date.UTC(2026, 10, 25, 9),
      grossMicros: 3_000_000,
      clicks: 2,
    });
  });

  it("daily and monthly sums, with the latest window's budget and serving state", () => {
    expect(
      dailySpend(rows).map((d) => [
        d.advertiserId,
        d.startMs,
        d.netMicros,
        d.clicks,
        d.budgetMicros,
        d.canServe,
      ]),
    ).toEqual([
      ["a", Date.UTC(2026, 10, 25), 7_000_000, 3, 100_000_000, true],
      ["a", Date.UTC(2026, 10, 26), 8_000_000, 1, 3_000_000, false],
      ["b", Date.UTC(2026, 10, 30), 16_000_000, 1, null, false],
      ["b", Date.UTC(2026, 11, 1), 32_000_000, 1, null, false],
    ]);
    expect(
      monthlySpend(rows).map((m) => [m.advertiserId, m.startMs, m.grossMicros, m.latestWindowStartMs]),
    ).toEqual([
      ["a", Date.UTC(2026, 10, 1), 15_000_000, Date.UTC(2026, 10, 26, 1)],
      ["b", Date.UTC(2026, 10, 1), 16_000_000, Date.UTC(2026, 10, 30, 23)],
      ["b", Date.UTC(2026, 11, 1), 32_000_000, Date.UTC(2026, 11, 1, 0)],
    ]);
  });

  it("totals per advertiser", () => {
    const totals = advertiserTotals(rows);
    expect(
      totals.map((t) => [t.advertiserId, t.advertiser, t.grossMicros, t.clicks, t.budgetMicros, t.canServe]),
    ).toEqual([
      ["a", "Name a", 15_000_000, 4, 3_000_000, false],
      ["b", "Name b", 48_000_000, 2, null, false],
    ]);
    expect(totals[0]?.startMs).toBe(Date.UTC(2026, 10, 25, 9));
    expect(totals[0]?.latestWindowStartMs).toBe(Date.UTC(2026, 10, 26, 1));
    expect(MS_PER_HOUR).toBe(3_600_000);
  });
});
