import {
  daysFromCivil,
  daysInMonth,
  MAX_EVENT_TIME_MS,
  MIN_EVENT_TIME_MS,
  MS_PER_DAY,
  MS_PER_HOUR,
  MS_PER_MINUTE,
  MS_PER_SECOND,
} from "./civil.js";

/**
 * Event timestamps. Accepted:
 * - ISO-8601 extended strings `YYYY-MM-DD(T| )HH:MM[:SS[.fraction]][zone]`, zone `Z`, `±HH:MM`, `±HHMM` or `±HH`.
 *   The fraction has 1..9 digits and is truncated to milliseconds (truncation keeps an event in its own second,
 *   hence in its own hour window). Without a zone the time is UTC (`naive`: Python's utcnow().isoformat()).
 * - JSON numbers: integer epoch milliseconds.
 * Rejected: date-only strings (a click needs a time of day to be bucketed), numeric strings, non-integer numbers,
 * anything outside years 0000..9999 UTC. Epoch seconds are read as milliseconds (they land in 1970 and are then
 * timestamp_too_late).
 */
export type TimestampParseResult = { ok: true; ms: number; naive: boolean } | { ok: false };

const INVALID: TimestampParseResult = Object.freeze({ ok: false });
const MAX_TIMESTAMP_LENGTH = 40;

export function parseTimestamp(value: unknown): TimestampParseResult {
  if (typeof value === "number") {
    return isEpochMs(value) ? { ok: true, ms: value, naive: false } : INVALID;
  }
  if (typeof value !== "string") return INVALID;
  const reading = new IsoTimestamp();
  if (!readIsoTimestamp(value, reading)) return INVALID;
  return { ok: true, ms: reading.ms, naive: reading.naive };
}

export function isEpochMs(value: number): boolean {
  return Number.isInteger(value) && value >= MIN_EVENT_TIME_MS && value <= MAX_EVENT_TIME_MS;
}

/** What readIsoTimestamp read: a record the caller reuses, so that reading allocates nothing. */
export class IsoTimestamp {
  /** Epoch ms; NaN when the last string read was not an accepted timestamp. */
  ms = Number.NaN;
  /** Whether the string had no zone (read as UTC). */
  naive = false;
}

/** Two decimal digits at i as a number, or -1 when either is not a digit (or out of the string). */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  if (!(a >= 0 && a <= 9 && b >= 0 && b <= 9)) return -1;
  return a * 10 + b;
}

/** Epoch ms of an ISO-8601 string, or NaN. */
export function parseIsoTimestamp(s: string): number {
  const reading = new IsoTimestamp();
  readIsoTimestamp(s, reading);
  return reading.ms;
}

/**
 * Reads an ISO-8601 string into `out` (its instant and whether it had a zone); false (out.ms NaN) when it is
 * not an accepted timestamp. Hand-written: Date.parse is lenient and engine-dependent.
 */
export function readIsoTimestamp(s: string, out: IsoTimestamp): boolean {
  out.ms = isoTimestampMs(s, out);
  return !Number.isNaN(out.ms);
}

/** The instant of an ISO-8601 string or NaN; sets out.naive when it is accepted. */
function isoTimestampMs(s: string, out: IsoTimestamp): number {
  out.naive = false;
  const n = s.length;
  if (n < 16 || n > MAX_TIMESTAMP_LENGTH) return Number.NaN;
  const century = twoDigits(s, 0);
  const yearInCentury = twoDigits(s, 2);
  const year = century < 0 || yearInCentury < 0 ? -1 : century * 100 + yearInCentury;
  const month = twoDigits(s, 5);
  const day = twoDigits(s, 8);
  const sep = s.charCodeAt(10);
  const hour = twoDigits(s, 11);
  const minute = twoDigits(s, 14);
  if (
    year < 0 ||
    s.charCodeAt(4) !== 45 ||
    s.charCodeAt(7) !== 45 ||
    (sep !== 84 && sep !== 32 && sep !== 116) ||
    s.charCodeAt(13) !== 58 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month) ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59
  ) {
    return Number.NaN;
  }
  let i = 16;
  let second = 0;
  let milli = 0;
  if (i < n && s.charCodeAt(i) === 58) {
    second = twoDigits(s, i + 1);
    if (second < 0 || second > 59) return Number.NaN;
    i += 3;
    if (i < n && s.charCodeAt(i) === 46) {
      i++;
      const fracStart = i;
      while (i < n) {
        const d = s.charCodeAt(i) - 48;
        if (!(d >= 0 && d <= 9)) break;
        // Only the first three digits matter: the rest is truncated.
        const position = i - fracStart;
        if (position < 3) milli += d * (position === 0 ? 100 : position === 1 ? 10 : 1);
        i++;
      }
      const fracDigits = i - fracStart;
      if (fracDigits < 1 || fracDigits > 9) return Number.NaN;
    }
  }
  let offsetMs = 0;
  let naive = true;
  if (i < n) {
    const c = s.charCodeAt(i);
    if ((c === 90 || c === 122) && i + 1 === n) {
      naive = false;
    } else if (c === 43 || c === 45) {
      const oh = twoDigits(s, i + 1);
      let om = 0;
      const rest = n - (i + 3);
      if (rest === 3 && s.charCodeAt(i + 3) === 58) om = twoDigits(s, i + 4);
      else if (rest === 2) om = twoDigits(s, i + 3);
      else if (rest !== 0) return Number.NaN;
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return Number.NaN;
      offsetMs = (oh * 60 + om) * MS_PER_MINUTE;
      if (c === 45) offsetMs = -offsetMs;
      naive = false;
    } else {
      return Number.NaN;
    }
  }
  const ms =
    daysFromCivil(year, month, day) * MS_PER_DAY +
    hour * MS_PER_HOUR +
    minute * MS_PER_MINUTE +
    second * MS_PER_SECOND +
    milli -
    offsetMs;
  if (ms < MIN_EVENT_TIME_MS || ms > MAX_EVENT_TIME_MS) return Number.NaN;
  out.naive = naive;
  return ms;
}
