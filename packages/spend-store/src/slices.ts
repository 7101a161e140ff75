import {
  type BudgetCalendar,
  type BudgetMode,
  type BudgetSource,
  budgetPeriodOf,
  type CalendarState,
  calendarInForce,
  MS_PER_DAY as DAY_MS,
  EventEffect,
  emptyCalendarState,
  MIN_EVENT_TIME_MS,
  observeCalendar,
  type PacingMode,
  sameCalendar,
} from "@adpipe/core";
import type { CalendarMemory } from "./calendars.js";
import { SpendStoreError } from "./errors.js";
import type { PeriodOf, PeriodWindow, SpendRecord } from "./records.js";

const MS_PER_DAY = 86_400_000;

/**
 * How apply_slice receives a budget observation's source, in the "budget kind" double of a packed event
 * (0 = no budget observation). apply_slice.lua maps the codes back (its BUDGET_SOURCES table).
 */
export const BUDGET_SOURCE_CODES: Readonly<Record<BudgetSource, number>> = Object.freeze({
  click: 1,
  budget_update: 2,
  api: 3,
});

/**
 * How apply_slice receives the budget mode an observation sets, in the "budget mode" double of a packed
 * event (0 = the mode stays as it is). apply_slice.lua maps the codes back (its BUDGET_MODES table).
 */
export const BUDGET_MODE_CODES: Readonly<Record<BudgetMode, number>> = Object.freeze({
  observe: 1,
  hard_cap: 2,
});

/**
 * The pacing an observation sets travels in the same "budget mode" double: mode code + PACING_CODE_FACTOR x
 * pacing code (0 = the pacing stays as it is). apply_slice.lua splits them (its PACING_MODES table).
 */
export const PACING_CODES: Readonly<Record<PacingMode, number>> = Object.freeze({
  asap: 1,
  even: 2,
  shaped: 3,
});
export const PACING_CODE_FACTOR = 4;

export interface SliceGrouping {
  readonly periodOf: PeriodOf;
  /** True for lifetime budgets: dedup by UTC day of the event instead of by period. */
  readonly dedupByDay: boolean;
  /**
   * The advertisers' own calendars (clickPeriodOf of @adpipe/core): when given, each click's period is that of
   * its advertiser's calendar in force at its place in the batch, and periodOf / dedupByDay are unused.
   * Advertisers it does not know are packed with the service-wide calendar and listed in `unknown`.
   */
  readonly calendars?: CalendarMemory;
}

/** A period start before every real one: apply_slice treats the bucket as a closed period (never counted). */
export const CLOSED_PERIOD_START_MS = MIN_EVENT_TIME_MS - DAY_MS;

export interface SliceOptions extends SliceGrouping {
  /** Dedup sets live until their bucket ends plus this long (duplicates later than that are not caught). */
  readonly dedupHorizonMs: number;
  /** The tracker clock (injectable): periods never lag behind it. */
  readonly nowMs: number;
}

function assertSafe(value: number, what: string): void {
  if (!Number.isSafeInteger(value)) {
    throw new SpendStoreError("unsafe_integer", `${what} is not a safe integer: ${String(value)}`);
  }
}

/** The UTC day of a time: the dedup bucket of lifetime budgets. */
export function utcDay(timeMs: number): { id: string; startMs: number; endMs: number } {
  const startMs = Math.floor(timeMs / MS_PER_DAY) * MS_PER_DAY;
  return { id: new Date(startMs).toISOString().slice(0, 10), startMs, endMs: startMs + MS_PER_DAY };
}

/**
 * TTL of a dedup set: it must outlive the bucket (while the bucket is current, a duplicate changes the
 * decision) plus the horizon; capped at one bucket length ahead so that sets for far-future (invalid)
 * event times do not linger for years.
 */
export function dedupTtlSeconds(
  bucketStartMs: number,
  bucketEndMs: number,
  nowMs: number,
  horizonMs: number,
): number {
  const length = bucketEndMs - bucketStartMs;
  const untilEnd = Math.min(Math.max(bucketEndMs - nowMs, 0), length);
  return Math.max(1, Math.ceil((untilEnd + horizonMs) / 1000));
}

/** A bucket of a packed slice; its TTL depends on the clock at send time, so only its window is kept. */
export interface PackedBucket {
  readonly periodStartMs: number;
  readonly periodId: string;
  readonly dedupBucketId: string;
  readonly dedupStartMs: number;
  readonly dedupEndMs: number;
}

/** Fixed part of a packed event: twelve little-endian doubles (see PackedSlice). */
export const EVENT_FIXED_BYTES = 96;
const FIRST_SLICE_BYTES = 512;

/**
 * One advertiser's records of a batch, already in the form apply_slice reads (its ARGV "events"): per event
 * twelve little-endian doubles
 *   partition, offset, bucket (1-based; 0 = no spend), gross, net, clicks,
 *   budget kind (0 = none, else BUDGET_SOURCE_CODES of its source), budget micros, budget event time,
 *   budget mode and pacing (BUDGET_MODE_CODES + PACING_CODE_FACTOR x PACING_CODES; 0 = none), click id byte length, reservation id byte length
 * then the click id's UTF-8 bytes (none when the click cannot be deduplicated), then the reservation id's
 * (none when the click settles the reservation named by its click id, the default, or settles none). Offsets and amounts are
 * checked safe integers, so exact as doubles (as are times and counts). One binary argument per advertiser instead of nine string arguments per
 * event: building, sending and re-encoding thousands of tiny strings per batch was a large share of the
 * tracker's CPU and garbage, and the script reads each event with one struct.unpack.
 */
export interface PackedSlice {
  readonly advertiserId: string;
  maxTimestampMs: number;
  readonly buckets: PackedBucket[];
  events: number;
  /** The packed events are bytes[0, length). */
  bytes: Buffer;
  view: DataView;
  length: number;
  /** With calendars: the advertiser's calendar settings after the slice's records (a working copy). */
  readonly calendar: CalendarState;
  /**
   * Where the slice last changed the calendar in force (the advertiser's period restarts; clickPeriodOf): the
   * record's partition and offset, so that the script restarts only when that record is not a replay; null: no
   * change.
   */
  calendarChangedAt: { readonly partition: number; readonly offset: number } | null;
  /** The period window last used for this slice (consecutive clicks mostly share it). */
  lastPeriod: PeriodWindow | null;
}

function viewOf(bytes: Buffer): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Writes a string's UTF-8 bytes at `at` (room for 3 bytes per UTF-16 unit is there); returns their count. */
function writeUtf8(bytes: Buffer, at: number, text: string): number {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    // Click ids are ASCII nearly always: a byte loop beats a native call for ~20 characters.
    if (c >= 0x80) return bytes.write(text, at, "utf8");
    bytes[at + i] = c;
  }
  return n;
}

/**
 * Groups a batch per advertiser (first-seen order) straight into packed slices, one record at a time.
 * Pure: everything that needs Redis state (dedup, offsets, period roll) happens in the script.
 */
export class SliceBatch {
  readonly slices = new Map<string, PackedSlice>();
  private readonly periodOf: PeriodOf;
  private readonly dedupByDay: boolean;
  // Consecutive events mostly share a period (and day): a window that holds the time is reused instead of
  // computing (and allocating) it again per event. Windows of one budget period never overlap.
  private lastPeriod: PeriodWindow | null = null;
  private lastDay: PeriodWindow | null = null;
  /** addRecord's view of a SpendRecord as an effect, reused from record to record. */
  private readonly recordEffect = new EventEffect();
  private readonly calendars: CalendarMemory | null;
  /** Advertisers whose calendar the memory did not know (packed with the service-wide one). */
  readonly unknown = new Set<string>();

  constructor(grouping: SliceGrouping) {
    this.periodOf = grouping.periodOf;
    this.dedupByDay = grouping.dedupByDay;
    this.calendars = grouping.calendars ?? null;
  }

  /** The service-wide calendar (with calendars), for slices of advertisers that never set their own. */
  get defaults(): BudgetCalendar | null {
    return this.calendars?.defaults ?? null;
  }

  /** Records the slices' calendars in the memory (after the batch was applied). */
  rememberCalendars(): void {
    const calendars = this.calendars;
    if (calendars === null) return;
    for (const slice of this.slices.values()) calendars.set(slice.advertiserId, slice.calendar);
  }

  /** A SpendRecord, through the same packing as add (tests, and batches built from records). */
  addRecord(record: SpendRecord): void {
    const spend = record.spend;
    const budget = record.budget;
    const effect = this.recordEffect;
    effect.advertiserId = record.advertiserId;
    effect.spends = spend !== null;
    effect.eventTimeMs = spend === null ? 0 : spend.eventTimeMs;
    effect.dedupClickId = spend === null ? null : spend.dedupKey;
    effect.reservationId = spend === null ? null : (spend.reservationId ?? null);
    effect.grossMicros = spend === null ? 0 : spend.grossMicros;
    effect.netMicros = spend === null ? 0 : spend.netMicros;
    effect.clicks = spend === null ? 0 : spend.clicks;
    effect.budgetSource = budget === null ? null : budget.source;
    effect.budgetMicros = budget === null ? 0 : budget.budgetMicros;
    effect.budgetMode = budget?.mode ?? null;
    effect.budgetPeriod = budget?.budgetPeriod ?? null;
    effect.timeZone = budget?.timeZone ?? null;
    effect.pacing = budget?.pacing ?? null;
    // A SpendRecord may carry its budget observation at another time than its spend.
    this.pack(effect, record.partition, record.offset, record.timestampMs, budget?.eventTimeMs ?? 0);
  }

  /**
   * The effect of one Kafka record (eventEffect of @adpipe/core: no object per event on the tracker's
   * path). Records whose effect neither spends nor observes a budget are left out. Returns whether the
   * record was added.
   */
  add(effect: EventEffect, partition: number, offset: number, timestampMs: number): boolean {
    if (effect.advertiserId === null || (!effect.spends && effect.budgetSource === null)) return false;
    this.pack(effect, partition, offset, timestampMs, effect.eventTimeMs);
    return true;
  }

  private pack(
    effect: EventEffect,
    partition: number,
    offset: number,
    timestampMs: number,
    budgetTimeMs: number,
  ): void {
    const advertiserId = effect.advertiserId as string;
    assertSafe(offset, "offset");
    let slice = this.slices.get(advertiserId);
    if (slice === undefined) {
      const bytes = Buffer.allocUnsafe(FIRST_SLICE_BYTES);
      const known = this.calendars?.get(advertiserId);
      if (this.calendars !== null && known === undefined) this.unknown.add(advertiserId);
      slice = {
        advertiserId,
        maxTimestampMs: timestampMs,
        buckets: [],
        events: 0,
        bytes,
        view: viewOf(bytes),
        length: 0,
        calendar: known === undefined ? emptyCalendarState() : { ...known },
        calendarChangedAt: null,
        lastPeriod: null,
      };
      this.slices.set(advertiserId, slice);
    } else if (timestampMs > slice.maxTimestampMs) slice.maxTimestampMs = timestampMs;

    // A budget update's calendar comes before anything later in the log (the event itself never spends).
    const calendars = this.calendars;
    if (
      calendars !== null &&
      effect.budgetSource !== null &&
      (effect.budgetPeriod !== null || effect.timeZone !== null)
    ) {
      const before = calendarInForce(slice.calendar, calendars.defaults);
      observeCalendar(slice.calendar, budgetTimeMs, effect.budgetPeriod, effect.timeZone);
      if (!sameCalendar(before, calendarInForce(slice.calendar, calendars.defaults))) {
        // The period restarts: clicks packed so far belong to the previous calendar's periods, which no
        // longer count once the script rolls to the new one.
        slice.calendarChangedAt = { partition, offset };
        slice.lastPeriod = null;
        for (let i = 0; i < slice.buckets.length; i++) {
          slice.buckets[i] = { ...(slice.buckets[i] as PackedBucket), periodStartMs: CLOSED_PERIOD_START_MS };
        }
      }
    }

    let bucket = 0;
    let id = "";
    let reservation = "";
    let grossMicros = 0;
    let netMicros = 0;
    let clicks = 0;
    if (effect.spends) {
      grossMicros = effect.grossMicros;
      netMicros = effect.netMicros;
      clicks = effect.clicks;
      assertSafe(grossMicros, "gross micros");
      assertSafe(netMicros, "net micros");
      bucket = this.bucketOf(slice, effect.eventTimeMs) + 1;
      if (effect.dedupClickId !== null) id = effect.dedupClickId;
      const reservationId = effect.reservationId;
      if (reservationId !== null && reservationId !== id) reservation = reservationId;
    }
    const budgetSource = effect.budgetSource;
    const budgetMicros = budgetSource === null ? 0 : effect.budgetMicros;
    if (budgetSource !== null) assertSafe(budgetMicros, "budget micros");

    const at = slice.length;
    const end = at + EVENT_FIXED_BYTES + (id.length + reservation.length) * 3;
    if (end > slice.bytes.length) {
      const bytes = Buffer.allocUnsafe(Math.max(end, slice.bytes.length * 2));
      slice.bytes.copy(bytes, 0, 0, at);
      slice.bytes = bytes;
      slice.view = viewOf(bytes);
    }
    const view = slice.view;
    view.setFloat64(at, partition, true);
    view.setFloat64(at + 8, offset, true);
    view.setFloat64(at + 16, bucket, true);
    view.setFloat64(at + 24, grossMicros, true);
    view.setFloat64(at + 32, netMicros, true);
    view.setFloat64(at + 40, clicks, true);
    view.setFloat64(at + 48, budgetSource === null ? 0 : BUDGET_SOURCE_CODES[budgetSource], true);
    view.setFloat64(at + 56, budgetMicros, true);
    view.setFloat64(at + 64, budgetSource === null ? 0 : budgetTimeMs, true);
    const budgetMode = budgetSource === null ? null : effect.budgetMode;
    const pacing = budgetSource === null ? null : effect.pacing;
    const modeCode = budgetMode === null ? 0 : BUDGET_MODE_CODES[budgetMode];
    const pacingCode = pacing === null ? 0 : PACING_CODES[pacing];
    view.setFloat64(at + 72, modeCode + PACING_CODE_FACTOR * pacingCode, true);
    const idBytes = id.length === 0 ? 0 : writeUtf8(slice.bytes, at + EVENT_FIXED_BYTES, id);
    view.setFloat64(at + 80, idBytes, true);
    const reservationBytes =
      reservation.length === 0 ? 0 : writeUtf8(slice.bytes, at + EVENT_FIXED_BYTES + idBytes, reservation);
    view.setFloat64(at + 88, reservationBytes, true);
    slice.length = at + EVENT_FIXED_BYTES + idBytes + reservationBytes;
    slice.events++;
  }

  /** Index of the bucket of an event time in a slice's bucket list, added when new. */
  private bucketOf(slice: PackedSlice, timeMs: number): number {
    const buckets = slice.buckets;
    const calendars = this.calendars;
    let period: PeriodWindow | null;
    let dedupByDay = this.dedupByDay;
    if (calendars === null) {
      period = this.lastPeriod;
      if (period === null || timeMs < period.startMs || timeMs >= period.endMs) {
        period = this.periodOf(timeMs);
        this.lastPeriod = period;
      }
    } else {
      const calendar = calendarInForce(slice.calendar, calendars.defaults);
      // An advertiser with a calendar of its own dedups by UTC day whatever its calendar, so that a duplicate
      // is caught across a change of calendar (the oracle dedups over the whole log).
      const own = slice.calendar.period !== null || slice.calendar.timeZone !== null;
      dedupByDay = calendar.period === "lifetime" || own;
      period = slice.lastPeriod;
      if (period === null || timeMs < period.startMs || timeMs >= period.endMs) {
        period = budgetPeriodOf(timeMs, calendar.period, calendar.timeZone);
        slice.lastPeriod = period;
      }
    }
    let dedup = period;
    if (dedupByDay) {
      const day = this.lastDay;
      if (day === null || timeMs < day.startMs || timeMs >= day.endMs) {
        dedup = utcDay(timeMs);
        this.lastDay = dedup;
      } else dedup = day;
    }
    for (let i = 0; i < buckets.length; i++) {
      const known = buckets[i] as PackedBucket;
      if (known.periodStartMs === period.startMs && known.dedupStartMs === dedup.startMs) return i;
    }
    buckets.push({
      periodStartMs: period.startMs,
      periodId: period.id,
      dedupBucketId: dedup.id,
      dedupStartMs: dedup.startMs,
      dedupEndMs: dedup.endMs,
    });
    return buckets.length - 1;
  }
}
