import {
  type BudgetCalendar,
  type BudgetMode,
  type BudgetObservation,
  type BudgetPeriod,
  type BudgetPeriodWindow,
  type BudgetSource,
  billableMicros,
  type CalendarObservation,
  type CalendarState,
  clickPeriodOf,
  DEFAULT_BUDGET_PERIOD,
  DEFAULT_TIME_ZONE,
  emptyCalendarState,
  foldCalendar,
  type ModeObservation,
  observeCalendarChange,
  supersedesBudget,
  supersedesMode,
} from "@adpipe/core";
import type { ClientBase } from "pg";
import type { DerivedRecord, GoldContribution } from "./derive.js";
import { WarehouseError } from "./errors.js";
import { queryConfig } from "./queries.js";
import type { LogPosition } from "./tracker-queries.js";

const MS_PER_HOUR = 3_600_000;

/**
 * Budget period settings of the clamp (the same as can_serve's): the service-wide calendar of advertisers that
 * never set their own, and the writer's memory of the stored calendars of those that did.
 */
export interface BillingRules {
  budgetPeriod?: BudgetPeriod;
  timeZone?: string;
  /** Default: one memory per process (safe to share: every read checks it, see billBatch). */
  billingCalendars?: BillingCalendars;
}

/**
 * An advertiser's own calendar as the stored log holds it (foldCalendar of its explicit settings): the settings
 * in force and the record after which its period restarted (null: the calendar in force never left the defaults).
 */
export interface StoredCalendar {
  readonly state: CalendarState;
  readonly lastChange: LogPosition | null;
}

function noOwnCalendar(): StoredCalendar {
  return { state: emptyCalendarState(), lastChange: null };
}

function sameSetting<T>(
  a: { value: T; eventTimeMs: number } | null,
  b: { value: T; eventTimeMs: number } | null,
): boolean {
  return a === null || b === null ? a === b : a.value === b.value && a.eventTimeMs === b.eventTimeMs;
}

function samePosition(a: LogPosition | null, b: LogPosition | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    a.topic === b.topic &&
    a.generation === b.generation &&
    a.partition === b.partition &&
    a.offset === b.offset
  );
}

function sameStoredCalendar(a: StoredCalendar, b: StoredCalendar): boolean {
  return (
    sameSetting(a.state.period, b.state.period) &&
    sameSetting(a.state.timeZone, b.state.timeZone) &&
    samePosition(a.lastChange, b.lastChange)
  );
}

const MAX_REMEMBERED_CALENDARS = 100_000;

/**
 * The writer's memory of advertisers' stored calendars: a batch's periods depend on them, so the billing request
 * is built with what the memory says (no own calendar for advertisers it does not know: most never set one) and
 * billing_state.sql returns the stored calendar settings beside the sums, in the same round trip. Only when they
 * differ from the memory (an advertiser met for the first time since start, or changed by another writer) is the
 * state read again with the corrected periods. Never trusted, so never wrong: a stale entry costs a round trip.
 */
export class BillingCalendars {
  private readonly known = new Map<string, StoredCalendar>();

  get(advertiserId: string): StoredCalendar | undefined {
    return this.known.get(advertiserId);
  }

  /** Remembers an advertiser's stored calendar; one of its own only (unknown advertisers are assumed to have none). */
  set(advertiserId: string, calendar: StoredCalendar): void {
    if (calendar.lastChange === null && calendar.state.period === null && calendar.state.timeZone === null) {
      this.known.delete(advertiserId);
      return;
    }
    if (this.known.size >= MAX_REMEMBERED_CALENDARS && !this.known.has(advertiserId)) this.known.clear();
    this.known.set(advertiserId, calendar);
  }
}

const processCalendars = new BillingCalendars();

/** What the clamp knows of one advertiser at a place in the log. */
export interface AdvertiserBilling {
  budget: BudgetObservation | null;
  mode: ModeObservation | null;
  /** The advertiser's stored calendar (read) and, once billRecords ran, its calendar after the batch. */
  calendar: StoredCalendar;
  /**
   * Billable net so far per budget period, by period start (epoch ms): the stored sums, then the batch's. A change
   * of calendar in the batch restarts the period (clickPeriodOf): billRecords starts an empty map there.
   */
  billableByPeriod: Map<number, number>;
  /** How many changes of calendar in the batch billableByPeriod counts from (0: the stored sums). */
  changes: number;
}

/** The (advertiser, budget period) pairs whose billable net a batch's non-duplicate clicks need. */
export interface BillingRequest {
  readonly advertiserIds: string[];
  readonly periodStartMs: number[];
  readonly periodEndMs: number[];
  /** Whether a period bound cuts through a UTC hour (Gold's window), so Silver must complete Gold's sums. */
  readonly straddles: boolean[];
  /** Whether the batch sets the advertiser's mode (its billable so far matters even if it is in observe now). */
  readonly setsMode: boolean[];
  /** The record after which the advertiser's period restarted (its stored calendar's last change); null: none. */
  readonly restarts: (LogPosition | null)[];
  /** The stored calendar each advertiser's periods were computed with (billBatch checks it against the read). */
  readonly assumed: Map<string, StoredCalendar>;
}

/** A click that bills: a non-duplicate contribution (duplicates add only their count, never spend). */
function billsSpend(contribution: GoldContribution | null): contribution is GoldContribution {
  return contribution !== null && contribution.duplicateClicks === 0;
}

function defaultsOf(rules: BillingRules): BudgetCalendar {
  return {
    period: rules.budgetPeriod ?? DEFAULT_BUDGET_PERIOD,
    timeZone: rules.timeZone ?? DEFAULT_TIME_ZONE,
  };
}

/** An advertiser's calendar while a batch is walked in partition order. */
interface CalendarWalk {
  readonly state: CalendarState;
  /** How many times the batch changed the calendar in force so far (each change restarts the period). */
  changes: number;
  lastChange: LogPosition | null;
}

/**
 * Walks the batch in partition order, calling `click` for each billing click with its period (clickPeriodOf of
 * the advertiser's calendar in force at its place: the stored one moved by the batch's own updates) and how many
 * times the batch changed that calendar before it. Returns each walked advertiser's calendar after the batch.
 */
function walkCalendars(
  records: readonly DerivedRecord[],
  defaults: BudgetCalendar,
  stored: (advertiserId: string) => StoredCalendar,
  click: (index: number, c: GoldContribution, window: BudgetPeriodWindow, changes: number) => void,
): Map<string, CalendarWalk> {
  const walks = new Map<string, CalendarWalk>();
  const walkOf = (advertiserId: string): CalendarWalk => {
    let walk = walks.get(advertiserId);
    if (walk === undefined) {
      const start = stored(advertiserId);
      walk = {
        state: { period: start.state.period, timeZone: start.state.timeZone },
        changes: 0,
        lastChange: start.lastChange,
      };
      walks.set(advertiserId, walk);
    }
    return walk;
  };
  records.forEach((record, index) => {
    if (record.budget !== null && (record.budgetPeriod !== null || record.timeZone !== null)) {
      const walk = walkOf(record.budget.advertiserId);
      const { eventTimeMs } = record.budget;
      if (observeCalendarChange(walk.state, defaults, eventTimeMs, record.budgetPeriod, record.timeZone)) {
        walk.changes += 1;
        walk.lastChange = {
          topic: record.topic,
          generation: record.generation,
          partition: record.partition,
          offset: record.offset.toString(),
        };
      }
    }
    const c = record.contribution;
    if (!billsSpend(c)) return;
    const walk = walkOf(c.advertiserId);
    click(index, c, clickPeriodOf(c.eventTimeMs, walk.state, defaults), walk.changes);
  });
  return walks;
}

/**
 * The periods the batch's clicks fall in, each once; null when the batch has no click to bill. `stored` gives
 * the stored calendar each advertiser's periods are computed with (default: none of its own). A click after a
 * change of calendar in the batch needs no stored sum (the period restarted after everything stored), but its
 * advertiser is still asked for (its budget and mode).
 */
export function billingRequest(
  records: readonly DerivedRecord[],
  rules: BillingRules,
  stored: (advertiserId: string) => StoredCalendar = noOwnCalendar,
): BillingRequest | null {
  const defaults = defaultsOf(rules);
  const seen = new Set<string>();
  const modeSetters = new Set<string>();
  for (const r of records)
    if (r.budget !== null && r.budgetMode !== null) modeSetters.add(r.budget.advertiserId);
  const request: BillingRequest = {
    advertiserIds: [],
    periodStartMs: [],
    periodEndMs: [],
    straddles: [],
    setsMode: [],
    restarts: [],
    assumed: new Map(),
  };
  const storedOf = (advertiserId: string): StoredCalendar => {
    let calendar = request.assumed.get(advertiserId);
    if (calendar === undefined) {
      calendar = stored(advertiserId);
      request.assumed.set(advertiserId, calendar);
    }
    return calendar;
  };
  walkCalendars(records, defaults, storedOf, (_index, c, { startMs, endMs }, changes) => {
    const key = changes === 0 ? `${c.advertiserId}\u0000${startMs}` : c.advertiserId;
    if (seen.has(key) || (changes > 0 && seen.has(`${c.advertiserId}\u0000any`))) return;
    seen.add(key);
    seen.add(`${c.advertiserId}\u0000any`);
    request.advertiserIds.push(c.advertiserId);
    request.periodStartMs.push(startMs);
    request.periodEndMs.push(endMs);
    request.straddles.push(startMs % MS_PER_HOUR !== 0 || endMs % MS_PER_HOUR !== 0);
    request.setsMode.push(modeSetters.has(c.advertiserId));
    request.restarts.push(storedOf(c.advertiserId).lastChange);
  });
  return request.advertiserIds.length === 0 ? null : request;
}

function safeMicros(value: string, what: string): number {
  const micros = Number(value);
  if (!Number.isSafeInteger(micros)) {
    throw new WarehouseError("batch_invalid", `${what} is not a safe integer of micros: ${value}`);
  }
  return micros;
}

/** One stored calendar setting as billing_state.sql returns it (json, in log order). */
type CalendarRow = [string, string | null, string | null, string, number, number, string];

function storedCalendarOf(rows: readonly CalendarRow[], defaults: BudgetCalendar): StoredCalendar {
  if (rows.length === 0) return noOwnCalendar();
  const observations: CalendarObservation<LogPosition>[] = rows.map(
    ([eventMs, period, timeZone, topic, generation, partition, offset]) => ({
      eventTimeMs: Number(eventMs),
      period: period as BudgetPeriod | null,
      timeZone,
      position: { topic, generation, partition, offset },
    }),
  );
  const { state, lastChange } = foldCalendar(observations, defaults);
  return { state, lastChange };
}

/**
 * Reads the clamp's state before a batch (sql/queries/billing_state.sql, one round trip): per advertiser the
 * budget, mode and stored calendar in force and the billable net of each requested period (0, unread, for an
 * advertiser in observe whose mode the batch leaves as it is: observe bills in full whatever the period has
 * billed). `loggedBeforeMs` null: everything stored precedes the batch (the ingestor); a reprocess passes its
 * range's end.
 */
export async function readBillingState(
  client: ClientBase,
  request: BillingRequest,
  loggedBeforeMs: number | null,
  rules: BillingRules = {},
): Promise<Map<string, AdvertiserBilling>> {
  const defaults = defaultsOf(rules);
  const { rows } = await client.query<{
    advertiser_id: string;
    period_start_ms: string;
    billable_micros: string;
    budget_micros: string | null;
    budget_event_ms: string | null;
    budget_source: BudgetSource | null;
    budget_mode: BudgetMode | null;
    mode_event_ms: string | null;
    calendar_settings: CalendarRow[];
  }>(
    queryConfig("billing_state", [
      request.advertiserIds,
      request.periodStartMs,
      request.periodEndMs,
      request.straddles,
      request.setsMode,
      loggedBeforeMs,
      request.restarts.map((r) => r?.topic ?? null),
      request.restarts.map((r) => r?.generation ?? null),
      request.restarts.map((r) => r?.partition ?? null),
      request.restarts.map((r) => r?.offset ?? null),
    ]),
  );
  const states = new Map<string, AdvertiserBilling>();
  for (const row of rows) {
    let state = states.get(row.advertiser_id);
    if (state === undefined) {
      state = {
        budget:
          row.budget_micros === null || row.budget_source === null
            ? null
            : {
                advertiserId: row.advertiser_id,
                budgetMicros: safeMicros(row.budget_micros, "a budget"),
                eventTimeMs: Number(row.budget_event_ms),
                source: row.budget_source,
              },
        mode:
          row.budget_mode === null ? null : { mode: row.budget_mode, eventTimeMs: Number(row.mode_event_ms) },
        calendar: storedCalendarOf(row.calendar_settings, defaults),
        billableByPeriod: new Map(),
        changes: 0,
      };
      states.set(row.advertiser_id, state);
    }
    state.billableByPeriod.set(
      Number(row.period_start_ms),
      safeMicros(row.billable_micros, "a period's billable net"),
    );
  }
  return states;
}

/**
 * Bills the batch's clicks by the clamp, in partition order (the records' order): each budget observation moves
 * its advertiser's budget (supersedesBudget), mode (supersedesMode) and calendar (clickPeriodOf) before any later
 * record, and each non-duplicate click's net is split by billableMicros into its billable part (the
 * contribution's netMicros) and over_cap, against the budget and mode in force at its place and its own period's
 * billable net so far. Pure: `states` (from readBillingState, whose stored calendars the periods start from) is
 * advanced in place, calendars included; records whose split changes are copied.
 */
export function billRecords(
  records: readonly DerivedRecord[],
  states: ReadonlyMap<string, AdvertiserBilling>,
  rules: BillingRules,
): DerivedRecord[] {
  const billed = [...records];
  const stateOf = (advertiserId: string): AdvertiserBilling => {
    const state = states.get(advertiserId);
    if (state === undefined) {
      throw new WarehouseError("batch_invalid", `no billing state read for advertiser ${advertiserId}`);
    }
    return state;
  };
  let at = 0;
  const moveBudgets = (upTo: number): void => {
    for (; at <= upTo; at++) {
      const record = records[at] as DerivedRecord;
      if (record.budget === null) continue;
      const state = states.get(record.budget.advertiserId);
      if (state === undefined) continue;
      if (supersedesBudget(state.budget, record.budget)) state.budget = record.budget;
      if (record.budgetMode !== null) {
        const mode = { mode: record.budgetMode, eventTimeMs: record.budget.eventTimeMs };
        if (supersedesMode(state.mode, mode)) state.mode = mode;
      }
    }
  };
  const walks = walkCalendars(
    records,
    defaultsOf(rules),
    (advertiserId) => states.get(advertiserId)?.calendar ?? noOwnCalendar(),
    (i, c, { startMs: periodStartMs }, changes) => {
      moveBudgets(i);
      const state = stateOf(c.advertiserId);
      if (changes !== state.changes) {
        state.billableByPeriod = new Map();
        state.changes = changes;
      }
      const sofar = state.billableByPeriod.get(periodStartMs) ?? 0;
      const billable = billableMicros(
        state.mode?.mode ?? "observe",
        state.budget?.budgetMicros ?? null,
        sofar,
        c.netMicros,
      );
      state.billableByPeriod.set(periodStartMs, sofar + billable);
      if (billable !== c.netMicros) {
        billed[i] = {
          ...(records[i] as DerivedRecord),
          contribution: { ...c, netMicros: billable, overCapMicros: c.netMicros - billable },
        };
      }
    },
  );
  moveBudgets(records.length - 1);
  for (const [advertiserId, walk] of walks) {
    const state = states.get(advertiserId);
    if (state !== undefined) state.calendar = { state: walk.state, lastChange: walk.lastChange };
  }
  return billed;
}

/** How many times billBatch reads the state again when the stored calendars differ from the ones assumed. */
const MAX_CALENDAR_READS = 3;

/**
 * Reads the clamp's state and bills the batch: one round trip (none when the batch has no click), a second only
 * when an advertiser's stored calendar is not the one the writer's memory assumed (BillingCalendars).
 */
export async function billBatch(
  client: ClientBase,
  records: DerivedRecord[],
  rules: BillingRules,
  loggedBeforeMs: number | null = null,
): Promise<DerivedRecord[]> {
  const memory = rules.billingCalendars ?? processCalendars;
  for (let read = 1; ; read++) {
    const request = billingRequest(records, rules, (id) => memory.get(id) ?? noOwnCalendar());
    if (request === null) return records;
    const states = await readBillingState(client, request, loggedBeforeMs, rules);
    let stale = false;
    for (const [advertiserId, state] of states) {
      const assumed = request.assumed.get(advertiserId) ?? noOwnCalendar();
      if (!sameStoredCalendar(assumed, state.calendar)) {
        stale = true;
        memory.set(advertiserId, state.calendar);
      }
    }
    if (!stale) {
      const billed = billRecords(records, states, rules);
      for (const [advertiserId, state] of states) memory.set(advertiserId, state.calendar);
      return billed;
    }
    if (read >= MAX_CALENDAR_READS) {
      throw new WarehouseError(
        "batch_write_failed",
        `advertisers' stored calendars kept changing while the billing state was read ${read} times`,
      );
    }
  }
}
