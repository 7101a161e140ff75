import { civilFromDays, daysFromCivil, MS_PER_DAY, MS_PER_HOUR } from "./civil.js";
import type { TimeBuckets } from "./contract.js";
import { CoreError } from "./errors.js";

export const WINDOW_MS = MS_PER_HOUR;

function assertTime(eventTimeMs: number): void {
  if (!Number.isFinite(eventTimeMs)) {
    throw new CoreError("invalid_time", `not a finite epoch-ms time: ${String(eventTimeMs)}`);
  }
}

/** Start of the UTC hour window that contains the time (Gold's window_start and spend_hour). */
export function windowStartOf(eventTimeMs: number): number {
  return Math.floor(eventTimeMs / MS_PER_HOUR) * MS_PER_HOUR;
}

/**
 * UTC buckets of one event time. The seed derives its ingest_* partition columns from the event timestamp
 * (not from the processing time); so do we, which makes them deterministic on replay.
 */
export function timeBuckets(eventTimeMs: number): TimeBuckets {
  assertTime(eventTimeMs);
  const windowStartMs = Math.floor(eventTimeMs / MS_PER_HOUR) * MS_PER_HOUR;
  const days = Math.floor(eventTimeMs / MS_PER_DAY);
  const spendDayMs = days * MS_PER_DAY;
  const { year, month, day } = civilFromDays(days);
  return {
    windowStartMs,
    windowEndMs: windowStartMs + MS_PER_HOUR,
    spendHourMs: windowStartMs,
    spendDayMs,
    spendMonthMs: daysFromCivil(year, month, 1) * MS_PER_DAY,
    ingestYear: year,
    ingestMonth: month,
    ingestDay: day,
    ingestHour: (windowStartMs - spendDayMs) / MS_PER_HOUR,
  };
}
