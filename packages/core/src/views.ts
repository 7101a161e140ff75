import { addMicros } from "./money.js";
import type { GoldRow } from "./oracle.js";

/**
 * Roll-ups of Gold rows that the seed's views are built from, grouped by the budget key (advertiserId) and
 * carrying the display name of the latest window. Sorted by advertiserId, then time.
 */
export interface SpendRollup {
  readonly advertiserId: string;
  readonly advertiser: string | null;
  /** Start of the group (hour, UTC day or UTC month). */
  readonly startMs: number;
  readonly grossMicros: number;
  readonly netMicros: number;
  /** Sum of record_count. */
  readonly clicks: number;
  /** Of the latest window in the group. */
  readonly budgetMicros: number | null;
  readonly canServe: boolean;
  readonly latestWindowStartMs: number;
}

function rollup(rows: readonly GoldRow[], startOf: (row: GoldRow) => number): SpendRollup[] {
  const groups = new Map<string, SpendRollup>();
  for (const row of rows) {
    const startMs = startOf(row);
    const key = `${row.advertiserId}\u0000${startMs}`;
    const current = groups.get(key);
    if (current === undefined) {
      groups.set(key, {
        advertiserId: row.advertiserId,
        advertiser: row.advertiser,
        startMs,
        grossMicros: row.grossMicros,
        netMicros: row.netMicros,
        clicks: row.recordCount,
        budgetMicros: row.budgetMicros,
        canServe: row.canServe,
        latestWindowStartMs: row.windowStartMs,
      });
      continue;
    }
    const later = row.windowStartMs > current.latestWindowStartMs;
    groups.set(key, {
      advertiserId: row.advertiserId,
      advertiser: later ? (row.advertiser ?? current.advertiser) : (current.advertiser ?? row.advertiser),
      startMs,
      grossMicros: addMicros(current.grossMicros, row.grossMicros),
      netMicros: addMicros(current.netMicros, row.netMicros),
      clicks: current.clicks + row.recordCount,
      budgetMicros: later ? row.budgetMicros : current.budgetMicros,
      canServe: later ? row.canServe : current.canServe,
      latestWindowStartMs: later ? row.windowStartMs : current.latestWindowStartMs,
    });
  }
  return [...groups.values()].sort((a, b) =>
    a.advertiserId < b.advertiserId ? -1 : a.advertiserId > b.advertiserId ? 1 : a.startMs - b.startMs,
  );
}

export function hourlySpend(rows: readonly GoldRow[]): SpendRollup[] {
  return rollup(rows, (row) => row.spendHourMs);
}

export function dailySpend(rows: readonly GoldRow[]): SpendRollup[] {
  return rollup(rows, (row) => row.spendDayMs);
}

export function monthlySpend(rows: readonly GoldRow[]): SpendRollup[] {
  return rollup(rows, (row) => row.spendMonthMs);
}

/** One roll-up per advertiser over all of Gold (aggregated_advertiser_spend); startMs = first window. */
export function advertiserTotals(rows: readonly GoldRow[]): SpendRollup[] {
  const firstWindow = new Map<string, number>();
  for (const row of rows) {
    const first = firstWindow.get(row.advertiserId);
    if (first === undefined || row.windowStartMs < first)
      firstWindow.set(row.advertiserId, row.windowStartMs);
  }
  return rollup(rows, (row) => firstWindow.get(row.advertiserId) ?? row.windowStartMs);
}
