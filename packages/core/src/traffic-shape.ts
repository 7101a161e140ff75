import { budgetPeriodOf } from "./budget-period.js";
import { MS_PER_DAY, MS_PER_HOUR } from "./civil.js";
import { CoreError } from "./errors.js";
import { SHAPE_HOURS } from "./pacing.js";

/** Days of Gold history a `shaped` advertiser's traffic shape is learnt from. */
export const SHAPE_HISTORY_DAYS = 7;
/** "Enough" history: spend on at least this many distinct local days of the window, else `even`. */
export const SHAPE_MIN_ACTIVE_DAYS = 3;
/** A learnt shape's weights sum to exactly this (basis points of a day's traffic). */
export const SHAPE_WEIGHT_TOTAL = 10_000;

/** One Gold hour of an advertiser: the UTC hour's start (epoch ms) and its net spend (micros, may be < 0). */
export interface HourlySpend {
  readonly hourStartMs: number;
  readonly netMicros: number;
}

/**
 * The end of the history window a shape learnt at `nowMs` reads: the start of the UTC hour in progress (that hour
 * is not complete in Gold yet). The tracker's shape refresh and the rebuild both learn shapes up to it.
 */
export function shapeHistoryEndMs(nowMs: number): number {
  return Math.floor(nowMs / MS_PER_HOUR) * MS_PER_HOUR;
}

/**
 * The hour of the local day an instant falls in, counted from the local day's start (budgetPeriodOf "day"), as
 * pacing reads a shape: index h = whole hours since the period's day start. On a 25-hour day (clocks fall back)
 * the 25th hour counts as hour 23 (late evening); on a 23-hour day the skipped hour gets no history that day.
 */
export function localHourIndex(instantMs: number, timeZone: string): { hour: number; dayId: string } {
  const day = budgetPeriodOf(instantMs, "day", timeZone);
  const hour = Math.min(SHAPE_HOURS - 1, Math.floor((instantMs - day.startMs) / MS_PER_HOUR));
  return { hour, dayId: day.id };
}

/**
 * THE traffic-shape rule of `shaped` pacing: the advertiser's Gold hourly net spend over the last
 * SHAPE_HISTORY_DAYS days, bucketed by local hour of day in its time zone, as SHAPE_HOURS non-negative integer
 * weights summing to SHAPE_WEIGHT_TOTAL (largest remainder rounding, ties to the earlier hour). Hours with
 * negative net (refunds) count 0 after summing their bucket. Returns null ("not enough history": the tracker
 * then clears `_shape` and the advertiser paces `even`) when fewer than SHAPE_MIN_ACTIVE_DAYS distinct local
 * days have positive spend, or no bucket is positive. Hours outside [windowEndMs - 7 days, windowEndMs) are
 * ignored. Pure; throws CoreError invalid_time_zone / invalid_time on bad inputs.
 */
export function trafficShapeOf(
  hours: readonly HourlySpend[],
  timeZone: string,
  windowEndMs: number,
  minActiveDays: number = SHAPE_MIN_ACTIVE_DAYS,
): number[] | null {
  const windowStartMs = windowEndMs - SHAPE_HISTORY_DAYS * MS_PER_DAY;
  const buckets = new Array<number>(SHAPE_HOURS).fill(0);
  const dayNet = new Map<string, number>();
  for (const { hourStartMs, netMicros } of hours) {
    if (!Number.isFinite(netMicros) || !Number.isSafeInteger(hourStartMs))
      throw new CoreError("invalid_time", `not an hour of spend: ${hourStartMs} / ${netMicros}`);
    if (hourStartMs < windowStartMs || hourStartMs >= windowEndMs) continue;
    const { hour, dayId } = localHourIndex(hourStartMs, timeZone);
    buckets[hour] = (buckets[hour] as number) + netMicros;
    dayNet.set(dayId, (dayNet.get(dayId) ?? 0) + netMicros);
  }
  let activeDays = 0;
  for (const net of dayNet.values()) if (net > 0) activeDays++;
  if (activeDays < minActiveDays) return null;
  const positive = buckets.map((net) => Math.max(net, 0));
  let total = 0;
  for (const net of positive) total += net;
  if (!(total > 0)) return null;
  const exact = positive.map((net) => (net / total) * SHAPE_WEIGHT_TOTAL);
  const weights = exact.map((value) => Math.floor(value));
  let left = SHAPE_WEIGHT_TOTAL;
  for (const weight of weights) left -= weight;
  const order = exact
    .map((value, hour) => ({ hour, remainder: value - Math.floor(value) }))
    .sort((a, b) => b.remainder - a.remainder || a.hour - b.hour);
  for (let i = 0; i < left; i++) {
    const hour = (order[i % SHAPE_HOURS] as { hour: number }).hour;
    weights[hour] = (weights[hour] as number) + 1;
  }
  return weights;
}

/** `_shape` as apply_slice.lua reads it: 24 comma-separated integers ("" = no shape, pace even). */
export function formatShape(shape: readonly number[] | null): string {
  return shape === null ? "" : shape.join(",");
}

/** Parses `_shape` back (null when absent, empty or not SHAPE_HOURS integers). */
export function parseShape(field: string | null | undefined): number[] | null {
  if (field === null || field === undefined || field === "") return null;
  const parts = field.split(",");
  if (parts.length !== SHAPE_HOURS) return null;
  const weights = parts.map(Number);
  return weights.every((w) => Number.isSafeInteger(w) && w >= 0) ? weights : null;
}
