import {
  BUDGET_MODES,
  BUDGET_PERIODS,
  BUDGET_SOURCES,
  type BudgetCalendar,
  type BudgetMode,
  type BudgetPeriod,
  type BudgetPeriodWindow,
  type BudgetSource,
  budgetPeriodOf,
  type CalendarObservation,
  type CalendarState,
  calendarInForce,
  clickPeriodOf,
  foldCalendar,
  PACING_MODES,
  type PacingMode,
} from "@adpipe/core";
import type { ClientBase, Pool } from "pg";
import { WarehouseError } from "./errors.js";
import { queryConfig } from "./queries.js";

/** Period totals of one advertiser, for the real-time tracker's Redis rebuild. */
export interface PeriodSpend {
  readonly advertiserId: string;
  readonly advertiser: string;
  /** Billable net (billableMicros) of the non-duplicate clicks with event time in the period. */
  readonly netMicros: number;
  /** The rest of their net: what hard_cap put beyond the budget (never billed). */
  readonly overCapMicros: number;
  /** Non-duplicate clicks with a usable amount, valid or not. */
  readonly grossMicros: number;
  /** Non-duplicate clicks in the period, valid + invalid (the oracle's ServingState.clicks). */
  readonly clicks: number;
  /** Budget in force over all observations (supersedesBudget in @adpipe/core); null when none. */
  readonly budgetMicros: number | null;
  readonly budgetEventTimeMs: number | null;
  readonly budgetSource: BudgetSource | null;
  /** Budget mode in force over all observations (supersedesMode); null when no update set one (observe). */
  readonly mode: BudgetMode | null;
  readonly modeEventTimeMs: number | null;
  /** Pacing in force over all observations (supersedesSetting); null when no update set one (asap). */
  readonly pacing: PacingMode | null;
  readonly pacingEventTimeMs: number | null;
  /**
   * The advertiser's own calendar (set when asked for with `calendars` and some update set a period or zone):
   * the calendar in force, the event times that set each setting (null: never set, the default applies) and
   * the window the totals above cover (its own period of `calendars.nowMs`, counted from its last change).
   */
  readonly calendar?: AdvertiserCalendar;
}

/** An advertiser's own calendar as the warehouse holds it (foldCalendar of its explicit settings). */
export interface AdvertiserCalendar extends BudgetCalendar {
  readonly periodEventTimeMs: number | null;
  readonly zoneEventTimeMs: number | null;
  /** Its period in force at the rebuild's instant (clickPeriodOf), or `periodsBack` periods before it. */
  readonly window: BudgetPeriodWindow;
  /** The record after which its period restarted (the last change of its calendar in force); null: none. */
  readonly restartAt: LogPosition | null;
}

/** A record's place in the log, as Silver and budget_history keep it. */
export interface LogPosition {
  readonly topic: string;
  readonly generation: number;
  readonly partition: number;
  readonly offset: string;
}

/** What a rebuild needs to compute each advertiser's period with its own calendar. */
export interface CalendarOptions {
  /** The service-wide BUDGET_PERIOD / BUDGET_TIME_ZONE (advertisers that never set theirs). */
  readonly defaults: BudgetCalendar;
  /** The instant whose period is rebuilt (the store's clock). */
  readonly nowMs: number;
  /**
   * Count the period this many before the one of nowMs in each advertiser's own calendar (default 0; the alert
   * evaluator's lookback). A lifetime calendar has the one period whatever this says.
   */
  readonly periodsBack?: number;
}

function safeInteger(text: string | null, what: string): number | null {
  if (text === null) return null;
  const value = Number(text);
  if (!Number.isSafeInteger(value))
    throw new WarehouseError("query_invalid", `${what} is not a safe integer: ${text}`);
  return value;
}

function budgetSourceOf(text: string | null): BudgetSource | null {
  if (text === null) return null;
  if (!(BUDGET_SOURCES as readonly string[]).includes(text))
    throw new WarehouseError("query_invalid", `unknown budget source: ${text}`);
  return text as BudgetSource;
}

function budgetModeOf(text: string | null): BudgetMode | null {
  if (text === null) return null;
  if (!(BUDGET_MODES as readonly string[]).includes(text))
    throw new WarehouseError("query_invalid", `unknown budget mode: ${text}`);
  return text as BudgetMode;
}

function pacingOf(text: string | null): PacingMode | null {
  if (text === null) return null;
  if (!(PACING_MODES as readonly string[]).includes(text))
    throw new WarehouseError("query_invalid", `unknown pacing: ${text}`);
  return text as PacingMode;
}

/**
 * Per advertiser, the spend of the budget period [periodStartMs, periodEndMs) from Silver and the budget in force.
 * For a rebuild consistent with storedOffsets, call both inside one REPEATABLE READ transaction (see
 * readRebuildSnapshot).
 */
export async function periodSpendByAdvertiser(
  client: ClientBase,
  range: { periodStartMs: number; periodEndMs: number; calendars?: CalendarOptions },
): Promise<PeriodSpend[]> {
  if (!(Number.isSafeInteger(range.periodStartMs) && Number.isSafeInteger(range.periodEndMs))) {
    throw new WarehouseError("range_invalid", "period bounds must be epoch-ms integers");
  }
  const back = range.calendars?.periodsBack ?? 0;
  if (!(Number.isSafeInteger(back) && back >= 0))
    throw new WarehouseError("range_invalid", "periodsBack must be a non-negative integer");
  const { rows } = await client.query<{
    advertiser_id: string;
    advertiser: string;
    net_micros: string;
    gross_micros: string;
    clicks: string;
    budget_micros: string | null;
    budget_event_ms: string | null;
    budget_source: string | null;
    over_cap_micros: string;
    budget_mode: string | null;
    mode_event_ms: string | null;
    pacing: string | null;
    pacing_event_ms: string | null;
  }>(queryConfig("period_spend_by_advertiser", [range.periodStartMs, range.periodEndMs]));
  const spend: PeriodSpend[] = rows.map((row) => ({
    advertiserId: row.advertiser_id,
    advertiser: row.advertiser,
    netMicros: safeInteger(row.net_micros, "net_micros") ?? 0,
    grossMicros: safeInteger(row.gross_micros, "gross_micros") ?? 0,
    clicks: safeInteger(row.clicks, "clicks") ?? 0,
    budgetMicros: safeInteger(row.budget_micros, "budget_micros"),
    budgetEventTimeMs: safeInteger(row.budget_event_ms, "budget_event_ms"),
    budgetSource: budgetSourceOf(row.budget_source),
    overCapMicros: safeInteger(row.over_cap_micros, "over_cap_micros") ?? 0,
    mode: budgetModeOf(row.budget_mode),
    modeEventTimeMs: safeInteger(row.mode_event_ms, "mode_event_ms"),
    pacing: pacingOf(row.pacing),
    pacingEventTimeMs: safeInteger(row.pacing_event_ms, "pacing_event_ms"),
  }));
  if (range.calendars === undefined) return spend;
  const calendars = await advertiserCalendars(client, range.calendars);
  if (calendars.size === 0) return spend;
  const own = await periodSpendInWindows(client, calendars);
  return spend.map((row) => {
    const calendar = calendars.get(row.advertiserId);
    const totals = own.get(row.advertiserId);
    return calendar === undefined || totals === undefined ? row : { ...row, ...totals, calendar };
  });
}

function budgetPeriodOfText(text: string | null): BudgetPeriod | null {
  if (text === null) return null;
  if (!(BUDGET_PERIODS as readonly string[]).includes(text))
    throw new WarehouseError("query_invalid", `unknown budget period: ${text}`);
  return text as BudgetPeriod;
}

/**
 * The advertisers that set a calendar of their own (some explicit update set a budget_period or time_zone),
 * each folded by foldCalendar of @adpipe/core: the calendar in force, its period at `nowMs` and the record
 * after which that period restarted.
 */
export async function advertiserCalendars(
  client: ClientBase,
  options: CalendarOptions,
): Promise<Map<string, AdvertiserCalendar>> {
  const { rows } = await client.query<{
    advertiser_id: string;
    event_ms: string;
    budget_period: string | null;
    time_zone: string | null;
    topic: string;
    partition: number;
    generation: number;
    offset: string;
  }>(queryConfig("calendar_observations", []));
  const byAdvertiser = new Map<string, CalendarObservation<LogPosition>[]>();
  for (const row of rows) {
    let list = byAdvertiser.get(row.advertiser_id);
    if (list === undefined) {
      list = [];
      byAdvertiser.set(row.advertiser_id, list);
    }
    list.push({
      eventTimeMs: safeInteger(row.event_ms, "event_ms") ?? 0,
      period: budgetPeriodOfText(row.budget_period),
      timeZone: row.time_zone,
      position: {
        topic: row.topic,
        generation: row.generation,
        partition: row.partition,
        offset: row.offset,
      },
    });
  }
  const out = new Map<string, AdvertiserCalendar>();
  for (const [advertiserId, observations] of byAdvertiser) {
    const { state, lastChange } = foldCalendar(observations, options.defaults);
    out.set(advertiserId, calendarOf(state, lastChange, options));
  }
  return out;
}

function calendarOf(
  state: CalendarState,
  restartAt: LogPosition | null,
  options: CalendarOptions,
): AdvertiserCalendar {
  const calendar = calendarInForce(state, options.defaults);
  let window = clickPeriodOf(options.nowMs, state, options.defaults);
  for (let back = options.periodsBack ?? 0; back > 0 && calendar.period !== "lifetime"; back--)
    window = budgetPeriodOf(window.startMs - 1, calendar.period, calendar.timeZone);
  return {
    period: calendar.period,
    timeZone: calendar.timeZone,
    periodEventTimeMs: state.period?.eventTimeMs ?? null,
    zoneEventTimeMs: state.timeZone?.eventTimeMs ?? null,
    window,
    restartAt,
  };
}

type WindowTotals = Pick<PeriodSpend, "netMicros" | "grossMicros" | "overCapMicros" | "clicks">;

/** Period totals of each advertiser in its own window, from after its restart (period_spend_windows.sql). */
async function periodSpendInWindows(
  client: ClientBase,
  calendars: ReadonlyMap<string, AdvertiserCalendar>,
): Promise<Map<string, WindowTotals>> {
  const ids: string[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const topics: (string | null)[] = [];
  const generations: (number | null)[] = [];
  const partitions: (number | null)[] = [];
  const offsets: (string | null)[] = [];
  for (const [id, calendar] of calendars) {
    ids.push(id);
    starts.push(calendar.window.startMs);
    ends.push(calendar.window.endMs);
    topics.push(calendar.restartAt?.topic ?? null);
    generations.push(calendar.restartAt?.generation ?? null);
    partitions.push(calendar.restartAt?.partition ?? null);
    offsets.push(calendar.restartAt?.offset ?? null);
  }
  const { rows } = await client.query<{
    advertiser_id: string;
    net_micros: string;
    gross_micros: string;
    over_cap_micros: string;
    clicks: string;
  }>(queryConfig("period_spend_windows", [ids, starts, ends, topics, generations, partitions, offsets]));
  const out = new Map<string, WindowTotals>();
  for (const row of rows) {
    out.set(row.advertiser_id, {
      netMicros: safeInteger(row.net_micros, "net_micros") ?? 0,
      grossMicros: safeInteger(row.gross_micros, "gross_micros") ?? 0,
      overCapMicros: safeInteger(row.over_cap_micros, "over_cap_micros") ?? 0,
      clicks: safeInteger(row.clicks, "clicks") ?? 0,
    });
  }
  return out;
}

/**
 * periodClickIds for advertisers with their own calendar: the click_ids counted in each one's own window (a
 * rebuild puts them back into its dedup sets).
 */
export async function periodClickIdsInWindows(
  client: ClientBase,
  windows: readonly { readonly advertiserId: string; readonly startMs: number; readonly endMs: number }[],
): Promise<PeriodClickIdRow[]> {
  if (windows.length === 0) return [];
  const { rows } = await client.query<PeriodClickIdRow>(
    queryConfig("period_click_ids_windows", [
      windows.map((w) => w.advertiserId),
      windows.map((w) => w.startMs),
      windows.map((w) => w.endMs),
    ]),
  );
  return rows;
}

/** One click_id Silver counted: `event_ms` is its event time in epoch ms, as text (bigint). */
export interface PeriodClickIdRow {
  readonly advertiser_id: string;
  readonly click_id: string;
  readonly event_ms: string;
}

/**
 * The click_ids Silver counted with event time in the budget period [periodStartMs, periodEndMs): a rebuild of the
 * Redis state puts them back into the dedup sets. The rows as pg returns them, not copied: a period can hold
 * millions.
 */
export async function periodClickIds(
  client: ClientBase,
  range: { periodStartMs: number; periodEndMs: number },
): Promise<PeriodClickIdRow[]> {
  const { rows } = await client.query<PeriodClickIdRow>(
    queryConfig("period_click_ids", [range.periodStartMs, range.periodEndMs]),
  );
  return rows;
}

/**
 * The next offset to read per partition of a topic, as committed by the ingestor (group `pipeline`), and the
 * generation of the topic's log that offset belongs to.
 */
export async function storedOffsets(
  client: ClientBase,
  options: { topic: string; pipeline?: string },
): Promise<{ partition: number; offset: string; generation: number }[]> {
  const { rows } = await client.query<{ partition: number; next_offset: string; generation: number }>(
    queryConfig("stored_offsets", [options.pipeline ?? DEFAULT_PIPELINE, options.topic]),
  );
  return rows.map((row) => ({
    partition: row.partition,
    offset: row.next_offset,
    generation: row.generation,
  }));
}

/** The ingestor's default consumer group id, under which it stores offsets. */
export const DEFAULT_PIPELINE = "adpipe-ingestor";

/**
 * Period spend and the ingestor's offsets read from one snapshot (REPEATABLE READ, read only): the spend is
 * exactly what the records below those offsets produced, so a tracker can rebuild from it and resume there.
 */
export async function readRebuildSnapshot(
  pool: Pool,
  options: {
    topic: string;
    pipeline?: string;
    periodStartMs: number;
    periodEndMs: number;
    calendars?: CalendarOptions;
  },
): Promise<{ spend: PeriodSpend[]; offsets: { partition: number; offset: string; generation: number }[] }> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const offsets = await storedOffsets(client, options);
    const spend = await periodSpendByAdvertiser(client, options);
    await client.query("COMMIT");
    return { spend, offsets };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
