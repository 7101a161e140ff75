import {
  BUDGET_PERIODS,
  type BudgetCalendar,
  type BudgetPeriod,
  type CalendarState,
  calendarInForce,
  emptyCalendarState,
} from "@adpipe/core";
import { execByNode } from "@adpipe/serving-client";
import type { Cluster, Redis } from "ioredis";
import { toInt } from "./redis-values.js";
import { throwFirstError } from "./script-runner.js";
import type { StoreContext } from "./store-context.js";

/**
 * The advertiser hash fields of its own calendar (clickPeriodOf of @adpipe/core): budget_period and time_zone
 * are public (the calendar in force, the service-wide one for advertisers that never set theirs); _period_ts
 * and _tz_ts are the event times of the updates that set them (absent: never set).
 */
export const CALENDAR_FIELDS = ["budget_period", "time_zone", "_period_ts", "_tz_ts"] as const;

/** Advertisers' calendars per hash fields (CALENDAR_FIELDS order); fields of a setting never set are null. */
export function calendarStateOf(values: readonly (string | null)[] | null): CalendarState {
  const state = emptyCalendarState();
  if (values === null) return state;
  const [period, timeZone, periodTs, zoneTs] = values;
  const periodAt = toInt(periodTs ?? null);
  const zoneAt = toInt(zoneTs ?? null);
  if (periodAt !== null && (BUDGET_PERIODS as readonly (string | null | undefined)[]).includes(period))
    state.period = { value: period as BudgetPeriod, eventTimeMs: periodAt };
  if (zoneAt !== null && typeof timeZone === "string" && timeZone !== "")
    state.timeZone = { value: timeZone, eventTimeMs: zoneAt };
  return state;
}

/**
 * apply_slice's calendar argument: `<period>|<time zone>|<period ts>|<zone ts>|<restart>`; the ts parts are
 * empty for settings never set; restart is `<partition>:<offset>` of the record that last changed the calendar in
 * force in the slice (the period restarts unless that record is a replay), empty when none did.
 */
export function calendarArgument(
  state: CalendarState,
  defaults: BudgetCalendar,
  restartAt: { readonly partition: number; readonly offset: number } | null,
): string {
  const calendar = calendarInForce(state, defaults);
  const periodTs = state.period === null ? "" : String(state.period.eventTimeMs);
  const zoneTs = state.timeZone === null ? "" : String(state.timeZone.eventTimeMs);
  const restart = restartAt === null ? "" : `${restartAt.partition}:${restartAt.offset}`;
  return `${calendar.period}|${calendar.timeZone}|${periodTs}|${zoneTs}|${restart}`;
}

/**
 * The tracker's memory of its advertisers' calendars: what the hashes hold once every applied batch is in. It
 * must know an advertiser's calendar before packing its clicks (their periods depend on it): advertisers it
 * does not know are read from their hashes, all of a batch in one round trip (readCalendars). Forgotten on
 * every rebuild, epoch change and rebalance (another process may have written the hashes meanwhile).
 */
export class CalendarMemory {
  private readonly known = new Map<string, CalendarState>();

  constructor(readonly defaults: BudgetCalendar) {}

  get(advertiserId: string): CalendarState | undefined {
    return this.known.get(advertiserId);
  }

  set(advertiserId: string, state: CalendarState): void {
    this.known.set(advertiserId, state);
  }

  forget(): void {
    this.known.clear();
  }

  get size(): number {
    return this.known.size;
  }
}

/** An advertiser's stored calendar and the values of the other fields asked for, in their order. */
export interface StoredCalendar {
  readonly calendar: CalendarState;
  readonly extra: readonly (string | null)[];
}

/**
 * The calendars stored in the given advertiser hashes (keys), with the values of `extraFields` read in the same
 * HMGET: one pipelined round trip (per node on a cluster), in the order of `keys`. A missing hash reads as no
 * calendar set and null extras. The periodic jobs read through it what they need beside the calendar.
 */
export async function readStoredCalendars(
  redis: Redis | Cluster,
  keys: readonly string[],
  extraFields: readonly string[] = [],
): Promise<StoredCalendar[]> {
  if (keys.length === 0) return [];
  const fields = [...CALENDAR_FIELDS, ...extraFields];
  const replies = await execByNode(
    redis,
    keys.map((key) => ({ key, command: "HMGET", args: [key, ...fields] })),
  );
  throwFirstError(replies);
  return keys.map((_, i) => {
    const values = (replies[i]?.[1] ?? null) as (string | null)[] | null;
    return {
      calendar: calendarStateOf(values === null ? null : values.slice(0, CALENDAR_FIELDS.length)),
      extra: extraFields.map((_, k) => values?.[CALENDAR_FIELDS.length + k] ?? null),
    };
  });
}

/** The calendars stored in the given advertisers' hashes (one pipelined round trip; per node on a cluster). */
export async function readCalendars(
  context: StoreContext,
  advertiserIds: readonly string[],
): Promise<Map<string, CalendarState>> {
  const keys = advertiserIds.map((id) => context.keys.advertiser(id));
  const stored = await readStoredCalendars(context.redis, keys);
  return new Map(advertiserIds.map((id, i) => [id, (stored[i] as StoredCalendar).calendar]));
}
