import { type BudgetCalendar, clickPeriodOf } from "@adpipe/core";
import { advertiserIdFromKey, advertiserKeyPattern, execByNode } from "@adpipe/serving-client";
import type { Cluster, Redis } from "ioredis";
import { CALENDAR_FIELDS, calendarStateOf } from "./calendars.js";
import { scanKeys } from "./redis-scan.js";
import { toInt } from "./redis-values.js";
import { throwFirstError } from "./script-runner.js";

/** Advertiser hashes read per pipeline (and asked of SCAN per step). */
const SCAN_CHUNK = 500;

const READ_FIELDS = [
  "reason",
  "period",
  "_period_start",
  "net_micros",
  "budget_micros",
  ...CALENDAR_FIELDS,
] as const;

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
 * Every advertiser hash whose `reason` is `ahead_of_pace` (SCAN, one pipelined HMGET per 500 hashes), with the
 * budget period of the hash in the advertiser's own calendar (clickPeriodOf; `defaults` for settings never set).
 * Read-only: the alerter's source of ahead_of_pace alerts (pacing state lives in Redis only).
 */
export async function readAheadOfPace(
  redis: Redis | Cluster,
  prefix: string,
  defaults: BudgetCalendar,
): Promise<AheadOfPaceState[]> {
  const states: AheadOfPaceState[] = [];
  for await (const keys of scanKeys(redis, advertiserKeyPattern(prefix), SCAN_CHUNK)) {
    const replies = await execByNode(
      redis,
      keys.map((key) => ({ key, command: "HMGET", args: [key, ...READ_FIELDS] })),
    );
    throwFirstError(replies);
    keys.forEach((key, i) => {
      const v = (replies[i]?.[1] ?? null) as (string | null)[] | null;
      if (v === null || v[0] !== "ahead_of_pace") return;
      const id = advertiserIdFromKey(key, prefix);
      const startMs = toInt(v[2] ?? null);
      const budget = toInt(v[4] ?? null);
      if (id === null || v[1] === null || v[1] === undefined || startMs === null || budget === null) return;
      const window = clickPeriodOf(startMs, calendarStateOf(v.slice(5)), defaults);
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
  // SCAN may return a key twice.
  return [...new Map(states.map((s) => [s.advertiserId, s])).values()];
}
