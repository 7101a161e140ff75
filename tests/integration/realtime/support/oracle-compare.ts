import type { ServingState } from "@adpipe/core/testing";
import type { StoredState } from "@adpipe/spend-store";

/**
 * Differences between the Redis state and the oracle's servingStateAt, to the micro-unit. An advertiser
 * without a hash is "unknown" (ad servers fail closed): that is only right when the oracle has nothing
 * for it either (no spend in the period and no budget, so it is not served).
 */
export function diffAgainstOracle(
  states: ReadonlyMap<string, StoredState>,
  expected: readonly ServingState[],
): string[] {
  const problems: string[] = [];
  const expectedIds = new Set(expected.map((state) => state.advertiserId));
  for (const want of expected) {
    const got = states.get(want.advertiserId);
    if (got === undefined) {
      const empty =
        want.netMicros === 0 && want.grossMicros === 0 && want.clicks === 0 && want.budgetMicros === null;
      if (!empty || want.canServe)
        problems.push(`${want.advertiserId}: no hash, expected ${JSON.stringify(want)}`);
      continue;
    }
    const fields: [string, unknown, unknown][] = [
      ["period", got.period, want.period],
      ["net_micros", got.netMicros, want.netMicros],
      ["gross_micros", got.grossMicros, want.grossMicros],
      ["clicks", got.clicks, want.clicks],
      ["budget_micros", got.budgetMicros, want.budgetMicros],
      ["budget_source", got.budgetSource, want.budgetSource],
      ["mode", got.mode, want.mode],
      ["over_cap_micros", got.overCapMicros, want.overCapMicros],
      ["can_serve", got.canServe, want.canServe],
      ["reason", got.reason, want.reason],
    ];
    for (const [name, actual, wanted] of fields) {
      if (actual !== wanted) {
        problems.push(`${want.advertiserId}: ${name} is ${String(actual)}, oracle says ${String(wanted)}`);
      }
    }
  }
  for (const id of states.keys()) {
    if (!expectedIds.has(id)) problems.push(`${id}: hash exists but the oracle never saw the advertiser`);
  }
  return problems;
}
