import { BUDGET_SOURCES, type BudgetMode, type BudgetSource } from "@adpipe/core";
import { advertiserIdFromKey, execByNode } from "@adpipe/serving-client";
import { scanKeys } from "./redis-scan.js";
import { toInt } from "./redis-values.js";
import { throwFirstError } from "./script-runner.js";
import type { StoreContext } from "./store-context.js";
import type { StoredState } from "./store-types.js";

/** Advertiser hashes read per pipeline (and asked of SCAN per step). */
const READ_CHUNK = 500;

/** The advertiser hash fields read back, in the order storedState reads them. */
const STATE_FIELDS = [
  "period",
  "_period_start",
  "net_micros",
  "gross_micros",
  "clicks",
  "budget_micros",
  "_budget_ts",
  "can_serve",
  "reason",
  "_paused",
  "budget_source",
  "mode",
  "over_cap_micros",
  "budget_period",
  "time_zone",
] as const;

/** The stored state of one advertiser; null when it has no hash. */
export async function readState(context: StoreContext, advertiserId: string): Promise<StoredState | null> {
  const values = await context.redis.hmget(context.keys.advertiser(advertiserId), ...STATE_FIELDS);
  return storedState(advertiserId, values);
}

/** Reads the state of every advertiser hash (SCAN + pipelined HMGET); for reconciliation and tests. */
export async function readStates(context: StoreContext): Promise<Map<string, StoredState>> {
  const states = new Map<string, StoredState>();
  for await (const keys of scanKeys(context.redis, context.keys.patterns.advertiser, READ_CHUNK)) {
    const replies = await execByNode(
      context.redis,
      keys.map((key) => ({ key, command: "HMGET", args: [key, ...STATE_FIELDS] })),
    );
    throwFirstError(replies);
    keys.forEach((key, i) => {
      const id = advertiserIdFromKey(key, context.keys.prefix);
      const values = (replies[i]?.[1] ?? null) as (string | null)[] | null;
      const state = id === null ? null : storedState(id, values);
      if (state !== null) states.set(state.advertiserId, state);
    });
  }
  return states;
}

/** True when any advertiser hash exists under the prefix. */
export async function hasAdvertiserState(context: StoreContext): Promise<boolean> {
  for await (const keys of scanKeys(context.redis, context.keys.patterns.advertiser, 100)) {
    if (keys.length > 0) return true;
  }
  return false;
}

/** HMGET values of STATE_FIELDS as a state; null when the hash has no period (it does not exist). */
function storedState(advertiserId: string, v: readonly (string | null)[] | null): StoredState | null {
  if (v === null || v[0] === null || v[0] === undefined) return null;
  return {
    advertiserId,
    period: v[0],
    periodStartMs: toInt(v[1]) ?? 0,
    netMicros: toInt(v[2]) ?? 0,
    grossMicros: toInt(v[3]) ?? 0,
    clicks: toInt(v[4]) ?? 0,
    budgetMicros: toInt(v[5]),
    budgetEventTimeMs: toInt(v[6]),
    budgetSource: budgetSourceOf(v[10]),
    mode: modeOf(v[11]),
    overCapMicros: toInt(v[12]) ?? 0,
    budgetPeriod: v[13] ?? null,
    timeZone: v[14] ?? null,
    canServe: v[7] === "1",
    reason: v[8] ?? null,
    paused: v[9] === "1",
  };
}

/** Absent (never set) or unreadable: observe, the default mode. */
function modeOf(value: string | null | undefined): BudgetMode {
  return value === "hard_cap" ? "hard_cap" : "observe";
}

function budgetSourceOf(value: string | null | undefined): BudgetSource | null {
  return (BUDGET_SOURCES as readonly (string | null | undefined)[]).includes(value)
    ? (value as BudgetSource)
    : null;
}
