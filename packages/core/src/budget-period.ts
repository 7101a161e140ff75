import {
  civilFromDays,
  daysFromCivil,
  formatCivilDate,
  MAX_EVENT_TIME_MS,
  MIN_EVENT_TIME_MS,
  MS_PER_DAY,
  MS_PER_HOUR,
  MS_PER_MINUTE,
  MS_PER_SECOND,
} from "./civil.js";
import { BUDGET_PERIODS, type BudgetPeriod } from "./contract.js";
import { CoreError } from "./errors.js";

/**
 * The budget period containing an event: the interval over which period-to-date spend is compared with the
 * budget. [startMs, endMs) in epoch ms. Ids: `2026-11-25` (day), `2026-11-25T13` (hour), `2026-11` (month),
 * `lifetime`. In a time zone other than UTC the ids are local dates; an hour id carries the local offset
 * (`2026-11-01T01-04:00`), because a local hour repeats when clocks fall back.
 */
export interface BudgetPeriodWindow {
  readonly id: string;
  readonly startMs: number;
  readonly endMs: number;
}

export const DEFAULT_BUDGET_PERIOD: BudgetPeriod = "day";
export const DEFAULT_TIME_ZONE = "UTC";

/** The lifetime period spans every accepted event time: year 0000 to the end of 9999, both real timestamps. */
export const LIFETIME_PERIOD: BudgetPeriodWindow = Object.freeze({
  id: "lifetime",
  startMs: MIN_EVENT_TIME_MS,
  endMs: MAX_EVENT_TIME_MS + 1,
});

function pad2(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

function monthId(year: number, month: number): string {
  return `${String(year).padStart(4, "0")}-${pad2(month)}`;
}

function utcPeriod(eventTimeMs: number, period: BudgetPeriod): BudgetPeriodWindow {
  switch (period) {
    case "hour": {
      const startMs = Math.floor(eventTimeMs / MS_PER_HOUR) * MS_PER_HOUR;
      const days = Math.floor(startMs / MS_PER_DAY);
      const hour = (startMs - days * MS_PER_DAY) / MS_PER_HOUR;
      return { id: `${formatCivilDate(days)}T${pad2(hour)}`, startMs, endMs: startMs + MS_PER_HOUR };
    }
    case "day": {
      const days = Math.floor(eventTimeMs / MS_PER_DAY);
      return { id: formatCivilDate(days), startMs: days * MS_PER_DAY, endMs: (days + 1) * MS_PER_DAY };
    }
    case "month": {
      const { year, month } = civilFromDays(Math.floor(eventTimeMs / MS_PER_DAY));
      const next = month === 12 ? daysFromCivil(year + 1, 1, 1) : daysFromCivil(year, month + 1, 1);
      return {
        id: monthId(year, month),
        startMs: daysFromCivil(year, month, 1) * MS_PER_DAY,
        endMs: next * MS_PER_DAY,
      };
    }
    case "lifetime":
      return LIFETIME_PERIOD;
  }
}

/**
 * Budget period of an event time in a time zone (IANA name; the way ad platforms define an advertiser's
 * budget day). UTC is pure arithmetic; other zones use Intl offsets and stay correct across DST (23- and
 * 25-hour days, days that start at 01:00 when clocks spring forward at midnight).
 * Throws CoreError: invalid_time (not an accepted event time), invalid_period, invalid_time_zone.
 */
export function budgetPeriodOf(
  eventTimeMs: number,
  period: BudgetPeriod = DEFAULT_BUDGET_PERIOD,
  timeZone: string = DEFAULT_TIME_ZONE,
): BudgetPeriodWindow {
  if (!(eventTimeMs >= MIN_EVENT_TIME_MS && eventTimeMs <= MAX_EVENT_TIME_MS)) {
    throw new CoreError("invalid_time", `event time outside years 0000..9999: ${String(eventTimeMs)}`);
  }
  if (!BUDGET_PERIODS.includes(period)) {
    throw new CoreError("invalid_period", `unknown budget period: ${String(period)}`);
  }
  if (period === "lifetime") return LIFETIME_PERIOD;
  const zone = resolveZone(timeZone);
  if (zone === null) return utcPeriod(eventTimeMs, period);
  return zone.periodOf(eventTimeMs, period);
}

/**
 * The budget periods an alert pass at nowMs evaluates in a calendar: the one containing nowMs, then `lookback`
 * before it, latest first (late clicks of a period just ended still count toward it). Lifetime: the one period.
 */
export function periodsToEvaluate(
  nowMs: number,
  period: BudgetPeriod,
  timeZone: string,
  lookback: number,
): BudgetPeriodWindow[] {
  if (period === "lifetime") return [LIFETIME_PERIOD];
  const windows = [budgetPeriodOf(nowMs, period, timeZone)];
  for (let i = 0; i < lookback; i++) {
    const earliest = windows[windows.length - 1] as BudgetPeriodWindow;
    windows.push(budgetPeriodOf(earliest.startMs - 1, period, timeZone));
  }
  return windows;
}

/** Checks a time zone name; returns its canonical IANA name ("UTC" for the UTC aliases). */
export function canonicalTimeZone(timeZone: string): string {
  const zone = resolveZone(timeZone);
  return zone === null ? "UTC" : zone.name;
}

const UTC_NAMES = new Set([
  "UTC",
  "Etc/UTC",
  "Etc/GMT",
  "GMT",
  "Etc/Universal",
  "Etc/Zulu",
  "Universal",
  "Zulu",
]);
const zones = new Map<string, ZoneCalendar | null>();

function resolveZone(timeZone: string): ZoneCalendar | null {
  const cached = zones.get(timeZone);
  if (cached !== undefined) return cached;
  if (typeof timeZone !== "string" || timeZone.length === 0 || timeZone.length > 64) {
    throw new CoreError("invalid_time_zone", `not a time zone name: ${String(timeZone).slice(0, 64)}`);
  }
  let formatter: Intl.DateTimeFormat;
  try {
    formatter = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" });
  } catch (cause) {
    throw new CoreError("invalid_time_zone", `unknown IANA time zone: ${timeZone}`, { cause });
  }
  const name = formatter.resolvedOptions().timeZone;
  const zone = UTC_NAMES.has(name) || UTC_NAMES.has(timeZone) ? null : new ZoneCalendar(name, formatter);
  if (zones.size > 1000) zones.clear();
  zones.set(timeZone, zone);
  return zone;
}

interface PeriodKey {
  readonly key: number;
  readonly offsetMs: number;
}

/** How far a period search looks back/ahead for its boundaries (longer than any local hour/day/month). */
const SEARCH_SPAN_MS: Record<Exclude<BudgetPeriod, "lifetime">, number> = {
  hour: 3 * MS_PER_HOUR,
  day: 2 * MS_PER_DAY,
  month: 33 * MS_PER_DAY,
};

const RECENT_WINDOWS = 8;

class ZoneCalendar {
  private readonly recent = new Map<BudgetPeriod, BudgetPeriodWindow[]>();

  constructor(
    readonly name: string,
    private readonly formatter: Intl.DateTimeFormat,
  ) {}

  /** Offset from UTC at an instant (local = utc + offset), parsed from Intl's "GMT+05:30" / "GMT-04:56:02". */
  offsetAt(t: number): number {
    const text = this.formatter.format(t);
    const at = text.lastIndexOf("GMT");
    if (at < 0)
      throw new CoreError("invalid_time_zone", `no offset in Intl output for ${this.name}: ${text}`);
    const sign = text.charCodeAt(at + 3);
    if (Number.isNaN(sign)) return 0;
    const parts = text.slice(at + 4).split(":");
    const h = Number(parts[0] ?? "0");
    const m = Number(parts[1] ?? "0");
    const s = Number(parts[2] ?? "0");
    const ms = h * MS_PER_HOUR + m * MS_PER_MINUTE + s * MS_PER_SECOND;
    if (!Number.isFinite(ms))
      throw new CoreError("invalid_time_zone", `unreadable offset for ${this.name}: ${text}`);
    return sign === 45 || sign === 0x2212 ? -ms : ms;
  }

  private keyAt(t: number, period: Exclude<BudgetPeriod, "lifetime">): PeriodKey {
    const offsetMs = this.offsetAt(t);
    const local = t + offsetMs;
    switch (period) {
      case "hour":
        // A local hour repeats when clocks fall back: the offset is part of its identity.
        return { key: Math.floor(local / MS_PER_HOUR) * 100_000 + offsetMs / MS_PER_MINUTE, offsetMs };
      case "day":
        return { key: Math.floor(local / MS_PER_DAY), offsetMs };
      case "month": {
        const { year, month } = civilFromDays(Math.floor(local / MS_PER_DAY));
        return { key: year * 12 + month, offsetMs };
      }
    }
  }

  periodOf(t: number, period: Exclude<BudgetPeriod, "lifetime">): BudgetPeriodWindow {
    let recent = this.recent.get(period);
    if (recent === undefined) {
      recent = [];
      this.recent.set(period, recent);
    }
    for (const w of recent) {
      if (t >= w.startMs && t < w.endMs) return w;
    }
    const window = this.computePeriod(t, period);
    recent.unshift(window);
    if (recent.length > RECENT_WINDOWS) recent.pop();
    return window;
  }

  private computePeriod(t: number, period: Exclude<BudgetPeriod, "lifetime">): BudgetPeriodWindow {
    const here = this.keyAt(t, period);
    const span = SEARCH_SPAN_MS[period];
    const [localStart, localEnd] = localBounds(t + here.offsetMs, period);
    const startMs =
      this.tryGuess(localStart, here, period, true) ??
      this.boundary(t, here.key, period, Math.max(MIN_EVENT_TIME_MS - MS_PER_DAY, t - span), true);
    const endMs =
      this.tryGuess(localEnd, here, period, false) ??
      this.boundary(t, here.key, period, Math.min(MAX_EVENT_TIME_MS + MS_PER_DAY, t + span), false);
    return { id: this.idOf(t, here.offsetMs, period), startMs, endMs };
  }

  /**
   * Usually a boundary is the local clock boundary minus the offset in force there: try that (with the offset
   * at t, then with the offset at the first guess) and keep it only when the keys on both sides prove it.
   */
  private tryGuess(
    localBoundary: number,
    here: PeriodKey,
    period: Exclude<BudgetPeriod, "lifetime">,
    isStart: boolean,
  ): number | null {
    let offsetMs = here.offsetMs;
    for (let attempt = 0; attempt < 2; attempt++) {
      const guess = localBoundary - offsetMs;
      const at = this.keyAt(guess, period);
      const before = this.keyAt(guess - 1, period);
      const proven = isStart
        ? at.key === here.key && before.key !== here.key
        : at.key !== here.key && before.key === here.key;
      if (proven) return guess;
      offsetMs = at.offsetMs;
    }
    return null;
  }

  private idOf(t: number, offsetMs: number, period: Exclude<BudgetPeriod, "lifetime">): string {
    const local = t + offsetMs;
    const days = Math.floor(local / MS_PER_DAY);
    switch (period) {
      case "day":
        return formatCivilDate(days);
      case "month": {
        const { year, month } = civilFromDays(days);
        return monthId(year, month);
      }
      case "hour": {
        const hour = Math.floor((local - days * MS_PER_DAY) / MS_PER_HOUR);
        return `${formatCivilDate(days)}T${pad2(hour)}${formatOffset(offsetMs)}`;
      }
    }
  }

  /**
   * First instant of the run of equal keys around t (backward) or first instant after it (forward), by binary
   * search between t and a bound whose key differs. Offsets change at most a few times in a search span,
   * and the period key only moves forward in time across them.
   */
  private boundary(
    t: number,
    key: number,
    period: Exclude<BudgetPeriod, "lifetime">,
    bound: number,
    backward: boolean,
  ): number {
    if (this.keyAt(bound, period).key === key) {
      throw new CoreError(
        "invalid_time",
        `no ${period} boundary within the search span of ${t} in ${this.name}`,
      );
    }
    // Invariant: key(inside) === key, key(outside) !== key.
    let inside = t;
    let outside = bound;
    while (Math.abs(outside - inside) > 1) {
      const mid = Math.floor((inside + outside) / 2);
      if (this.keyAt(mid, period).key === key) inside = mid;
      else outside = mid;
    }
    return backward ? inside : outside;
  }
}

/** Local clock boundaries (as local epoch ms) of the period containing a local time. */
function localBounds(local: number, period: Exclude<BudgetPeriod, "lifetime">): [number, number] {
  switch (period) {
    case "hour": {
      const start = Math.floor(local / MS_PER_HOUR) * MS_PER_HOUR;
      return [start, start + MS_PER_HOUR];
    }
    case "day": {
      const start = Math.floor(local / MS_PER_DAY) * MS_PER_DAY;
      return [start, start + MS_PER_DAY];
    }
    case "month": {
      const { year, month } = civilFromDays(Math.floor(local / MS_PER_DAY));
      const next = month === 12 ? daysFromCivil(year + 1, 1, 1) : daysFromCivil(year, month + 1, 1);
      return [daysFromCivil(year, month, 1) * MS_PER_DAY, next * MS_PER_DAY];
    }
  }
}

function formatOffset(offsetMs: number): string {
  const sign = offsetMs < 0 ? "-" : "+";
  const abs = Math.abs(offsetMs);
  const h = Math.floor(abs / MS_PER_HOUR);
  const m = Math.floor((abs % MS_PER_HOUR) / MS_PER_MINUTE);
  return `${sign}${pad2(h)}:${pad2(m)}`;
}
