import { type BudgetCalendar, clickPeriodOf } from "@adpipe/core";
import { advertiserIdFromKey, advertiserKeyPattern } from "@adpipe/serving-client";
import type { Cluster, Redis } from "ioredis";
import { readStoredCalendars, type StoredCalendar } from "./calendars.js";
import { scanKeys } from "./redis-scan.js";
import { toInt } from "./redis-values.js";

/** Advertiser hashes read per pipeline (and asked of SCAN per step). */
const SCAN_CHUNK = 500;

/** Read beside the calendar: the decision, the period and spend it was made in, and the recorded episode. */
const AHEAD_FIELDS = ["reason", "period", "_period_start", "net_micros", "budget_micros", "_ahead_seen"];

/** An advertiser the tracker holds back for pacing (hash reason = ahead_of_pace), in the period of its hash. */
export interface AheadOfPaceState {
  readonly advertiserId: string;
  readonly periodId: string;
  readonly periodStartMs: number;
  readonly periodEndMs: number;
  readonly netMicros: number;
  readonly budgetMicros: number;
}

/**
 * Every advertiser hash whose `reason` is `ahead_of_pace`, and every ahead_of_pace episode the hash recorded
 * (`_ahead_seen`, kept after the advertiser caught up, so an episode shorter than the alerter's pass is not
 * missed), one per advertiser and period (SCAN, one pipelined HMGET per 500 hashes), with the budget period in
 * the advertiser's own calendar (clickPeriodOf; `defaults` for settings never set). Read-only: the alerter's
 * source of ahead_of_pace alerts (pacing state lives in Redis only); alerts.fired makes re-reads no-ops.
 */
export async function readAheadOfPace(
  redis: Redis | Cluster,
  prefix: string,
  defaults: BudgetCalendar,
): Promise<AheadOfPaceState[]> {
  const states: AheadOfPaceState[] = [];
  for await (const keys of scanKeys(redis, advertiserKeyPattern(prefix), SCAN_CHUNK)) {
    const stored = await readStoredCalendars(redis, keys, AHEAD_FIELDS);
    keys.forEach((key, i) => {
      const { calendar, extra: v } = stored[i] as StoredCalendar;
      const id = advertiserIdFromKey(key, prefix);
      if (id === null) return;
      const seen = parseAheadSeen(v[5] ?? null);
      if (seen !== null) {
        const window = clickPeriodOf(seen.periodStartMs, calendar, defaults);
        states.push({ ...seen, advertiserId: id, periodStartMs: window.startMs, periodEndMs: window.endMs });
      }
      if (v[0] !== "ahead_of_pace") return;
      const startMs = toInt(v[2] ?? null);
      const budget = toInt(v[4] ?? null);
      if (v[1] === null || v[1] === undefined || startMs === null || budget === null) return;
      const window = clickPeriodOf(startMs, calendar, defaults);
      states.push({
        advertiserId: id,
        periodId: v[1],
        periodStartMs: window.startMs,
        periodEndMs: window.endMs,
        netMicros: toInt(v[3] ?? null) ?? 0,
        budgetMicros: budget,
      });
    });
  }
  // SCAN may return a key twice; an episode recorded and still going is one candidate (the recorded one first:
  // its amounts are those of the moment the advertiser first went ahead).
  const unique = new Map<string, AheadOfPaceState>();
  for (const state of states) {
    const key = `${state.advertiserId}\u0000${state.periodId}`;
    if (!unique.has(key)) unique.set(key, state);
  }
  return [...unique.values()];
}

/**
 * `_ahead_seen` of a hash (apply_slice.lua): "<period id>|<period start ms>|<net micros>|<budget micros>" of the
 * first ahead_of_pace decision in that period; null when absent or malformed.
 */
export function parseAheadSeen(
  field: string | null,
): { periodId: string; periodStartMs: number; netMicros: number; budgetMicros: number } | null {
  if (field === null) return null;
  const parts = field.split("|");
  if (parts.length !== 4) return null;
  const [periodId, start, net, budget] = parts as [string, string, string, string];
  const periodStartMs = toInt(start);
  const netMicros = toInt(net);
  const budgetMicros = toInt(budget);
  if (periodId === "" || periodStartMs === null || netMicros === null || budgetMicros === null) return null;
  return { periodId, periodStartMs, netMicros, budgetMicros };
}
