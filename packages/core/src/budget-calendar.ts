import { type BudgetPeriodWindow, budgetPeriodOf, canonicalTimeZone } from "./budget-period.js";
import type { BudgetPeriod } from "./contract.js";
import { CoreError } from "./errors.js";
import { addMicros } from "./money.js";

/** An advertiser's budget calendar: the period its budget spans and the IANA zone its periods follow. */
export interface BudgetCalendar {
  readonly period: BudgetPeriod;
  readonly timeZone: string;
}

/** One calendar setting an explicit budget update set, with the event time that orders it. */
export interface SettingObservation<T> {
  readonly value: T;
  readonly eventTimeMs: number;
}

/**
 * The calendar settings in force for one advertiser at a place in the log; null: never set (the service-wide
 * default, BUDGET_PERIOD / BUDGET_TIME_ZONE, applies). Each setting moves on its own: an update may set the
 * period only, the zone only, or both.
 */
export interface CalendarState {
  period: SettingObservation<BudgetPeriod> | null;
  timeZone: SettingObservation<string> | null;
}

/**
 * Whether `candidate` replaces `current` as a setting in force (budget mode, budget period, time zone): the
 * later event time wins, and on equal event times the later record in partition order (callers feed
 * observations in partition order). supersedesMode is this rule.
 */
export function supersedesSetting(
  current: { readonly eventTimeMs: number } | null,
  candidate: { readonly eventTimeMs: number },
): boolean {
  return current === null || candidate.eventTimeMs >= current.eventTimeMs;
}

export function emptyCalendarState(): CalendarState {
  return { period: null, timeZone: null };
}

/**
 * Applies the period and/or zone a budget update sets (undefined: that setting stays) to `state`, in place, by
 * supersedesSetting. Returns whether anything in force changed.
 */
export function observeCalendar(
  state: CalendarState,
  eventTimeMs: number,
  period: BudgetPeriod | null | undefined,
  timeZone: string | null | undefined,
): boolean {
  let changed = false;
  if (period !== null && period !== undefined) {
    const candidate = { value: period, eventTimeMs };
    if (supersedesSetting(state.period, candidate)) {
      changed = state.period?.value !== period;
      state.period = candidate;
    }
  }
  if (timeZone !== null && timeZone !== undefined) {
    const candidate = { value: timeZone, eventTimeMs };
    if (supersedesSetting(state.timeZone, candidate)) {
      changed = changed || state.timeZone?.value !== timeZone;
      state.timeZone = candidate;
    }
  }
  return changed;
}

/** The calendar in force: the advertiser's own settings, each falling back to the service-wide default. */
export function calendarInForce(state: CalendarState | null, defaults: BudgetCalendar): BudgetCalendar {
  if (state === null || (state.period === null && state.timeZone === null)) return defaults;
  return {
    period: state.period?.value ?? defaults.period,
    timeZone: state.timeZone?.value ?? defaults.timeZone,
  };
}

/**
 * THE period rule of per-advertiser calendars (both stores and the oracle): a click belongs to the budget
 * period of its event time in the calendar in force at its place in the log. A change of the calendar in
 * force (period or zone; re-stating the same one is no change) takes effect from the next record on and
 * restarts the period: the period in force at an instant is the window of that instant in the calendar in
 * force now, and its spend is that of the clicks assigned to that window since the last change. Clicks
 * counted before a change never move to the new calendar's periods (a store cannot re-bucket them). For an
 * advertiser that never changes its calendar this is the plain "event time within the window" rule.
 */
export function clickPeriodOf(
  eventTimeMs: number,
  state: CalendarState | null,
  defaults: BudgetCalendar,
): BudgetPeriodWindow {
  const calendar = calendarInForce(state, defaults);
  return budgetPeriodOf(eventTimeMs, calendar.period, calendar.timeZone);
}

/**
 * observeCalendar for one record in log order, answering whether the calendar in force changed (clickPeriodOf:
 * the period restarts after this record; re-stating the calendar in force, or a setting superseded by a later
 * one, is no change).
 */
export function observeCalendarChange(
  state: CalendarState,
  defaults: BudgetCalendar,
  eventTimeMs: number,
  period: BudgetPeriod | null | undefined,
  timeZone: string | null | undefined,
): boolean {
  const before = calendarInForce(state, defaults);
  observeCalendar(state, eventTimeMs, period, timeZone);
  return !sameCalendar(before, calendarInForce(state, defaults));
}

/**
 * Whether two calendars are the same (a budget update re-stating the calendar in force changes nothing). Zones
 * compare by what they are, not how they are spelled: a link and its target (Asia/Kolkata and Asia/Calcutta, UTC
 * and Etc/UTC) cut the same periods, so re-stating the zone in force under another name restarts nothing. The
 * names themselves stay as written where they are shown.
 */
export function sameCalendar(a: BudgetCalendar, b: BudgetCalendar): boolean {
  if (a.period !== b.period) return false;
  return a.timeZone === b.timeZone || canonicalTimeZone(a.timeZone) === canonicalTimeZone(b.timeZone);
}

/** One explicit calendar setting as a log holds it (a budget update that set a period and/or a zone). */
export interface CalendarObservation<P> {
  readonly eventTimeMs: number;
  /** The period / zone the update set; null or undefined: it left that setting as it was. */
  readonly period?: BudgetPeriod | null | undefined;
  readonly timeZone?: string | null | undefined;
  /** Where the record sits in the log (a partition and offset, say): reported back for the last change. */
  readonly position: P;
}

/**
 * Folds an advertiser's calendar observations, in log order, by observeCalendar: the settings in force after
 * them all, and the position of the last record that changed the calendar in force (clickPeriodOf: the period
 * restarts there; null when none did, i.e. the defaults were never left or only re-stated). A rebuild counts
 * the current period's spend from after that record, as the tracker did.
 */
export function foldCalendar<P>(
  observations: Iterable<CalendarObservation<P>>,
  defaults: BudgetCalendar,
): { state: CalendarState; lastChange: P | null } {
  const state = emptyCalendarState();
  let lastChange: P | null = null;
  for (const observation of observations) {
    const { eventTimeMs, period, timeZone } = observation;
    if (observeCalendarChange(state, defaults, eventTimeMs, period, timeZone))
      lastChange = observation.position;
  }
  return { state, lastChange };
}

/**
 * One stretch of an advertiser's log with one calendar in force: `start` is the record after which it took
 * effect (clickPeriodOf: the period restarts there; null: the beginning of the log, the service-wide defaults).
 */
export interface CalendarEpoch<P> {
  readonly start: P | null;
  readonly calendar: BudgetCalendar;
}

/**
 * Folds calendar observations in log order like foldCalendar, keeping every change: the first epoch is the
 * defaults from the beginning of the log, each change of the calendar in force starts the next. One epoch
 * only: the advertiser never left the defaults (Gold's service-wide path applies).
 */
export function calendarEpochs<P>(
  observations: Iterable<CalendarObservation<P>>,
  defaults: BudgetCalendar,
): CalendarEpoch<P>[] {
  const state = emptyCalendarState();
  const epochs: CalendarEpoch<P>[] = [{ start: null, calendar: defaults }];
  for (const observation of observations) {
    const { eventTimeMs, period, timeZone } = observation;
    if (observeCalendarChange(state, defaults, eventTimeMs, period, timeZone))
      epochs.push({ start: observation.position, calendar: calendarInForce(state, defaults) });
  }
  return epochs;
}

/** One billable click contribution with the calendar epoch it was logged in (calendarEpochs' index). */
export interface EpochContribution {
  readonly eventTimeMs: number;
  readonly netMicros: number;
  readonly epoch: number;
}

/**
 * THE Gold row rule of per-advertiser calendars (gold_reevaluate_serving_calendars.sql and the oracle): the
 * UTC hour [windowStartMs, windowEndMs) of an advertiser belongs to the period in force at its records, as the
 * real-time store had it when it applied them: the epoch of the hour's last record (the latest epoch among
 * its contributions; the first when it has none), and that epoch's calendar's period containing windowStartMs.
 * Its period net is the billable net of that period up to the row: the contributions logged in that epoch
 * (after its restart record, before the next change) with event time in
 * [period start, min(windowEndMs, period end)). With one epoch this is the service-wide rule (period-to-date
 * net by event time).
 */
export function goldRowPeriodNet(
  windowStartMs: number,
  windowEndMs: number,
  epochs: readonly BudgetCalendar[],
  contributions: Iterable<EpochContribution>,
): { period: BudgetPeriodWindow; periodNetMicros: number } {
  const list = [...contributions];
  let epoch = 0;
  for (const c of list)
    if (c.eventTimeMs >= windowStartMs && c.eventTimeMs < windowEndMs && c.epoch > epoch) epoch = c.epoch;
  const calendar = epochs[epoch] ?? epochs[0];
  if (calendar === undefined)
    throw new CoreError("invalid_options", "goldRowPeriodNet needs at least one epoch");
  const period = budgetPeriodOf(windowStartMs, calendar.period, calendar.timeZone);
  const endMs = Math.min(windowEndMs, period.endMs);
  let periodNetMicros = 0;
  for (const c of list)
    if (c.epoch === epoch && c.eventTimeMs >= period.startMs && c.eventTimeMs < endMs)
      periodNetMicros = addMicros(periodNetMicros, c.netMicros);
  return { period, periodNetMicros };
}
