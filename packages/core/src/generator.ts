import type { BudgetCalendar } from "./budget-calendar.js";
import { formatIsoUtc, MS_PER_DAY, MS_PER_HOUR, MS_PER_MINUTE, MS_PER_SECOND } from "./civil.js";
import type { PacingMode } from "./contract.js";
import { CoreError } from "./errors.js";
import { formatMicros, MICROS_PER_UNIT, microsToNumberString } from "./money.js";
import { DEFAULT_PARSE_OPTIONS, FIELD_MAX_LENGTH } from "./parse-event.js";
import { Prng, ZipfSampler } from "./random.js";

export const GENERATED_KINDS = [
  "click",
  "duplicate",
  "malformed",
  "late",
  "future",
  "invalid",
  "budget_update",
] as const;
export type GeneratedKind = (typeof GENERATED_KINDS)[number];

export interface GeneratedRecord {
  /** Kafka record key: the advertiser id (the budget key); null for some malformed records. */
  readonly key: string | null;
  readonly value: Uint8Array;
  /** Kafka record timestamp to produce with (CreateTime): the reference clock of parseEvent. */
  readonly timestampMs: number;
  readonly kind: GeneratedKind;
}

/** Shares of the non-budget records (each in [0, 1], their sum at most 1; the rest are ordinary clicks). */
export interface GeneratorShares {
  /** Exact re-sends (same key and bytes) of an earlier click of the same advertiser. */
  duplicate: number;
  /** Not an event: bad JSON, invalid UTF-8, non-objects, empty and oversized payloads. */
  malformed: number;
  /** Event time older than the lateness horizon. */
  late: number;
  /** Event time beyond the future skew. */
  future: number;
  /** Readable events with a defect: amount <= 0 or too large or not numeric, missing click_id, bad timestamp, … */
  invalid: number;
  /**
   * The advertiser changes its budget: a budget_update event (budgetChannel "events"), or an ordinary click
   * carrying the new budget, as every later click does (budgetChannel "clicks").
   */
  budgetUpdate: number;
  /**
   * An operator overrides the budget: a budget_update event (half of them with `"budget_source":"api"`, as the
   * HTTP API writes it) whose value the advertiser's click producer does not learn, so its clicks keep carrying
   * the budget it knows. Default 0.
   */
  operatorBudget: number;
  /** Of the ordinary clicks: event time lags the record time by up to outOfOrderMaxMs (within the horizon). */
  outOfOrder: number;
}

export interface MicrosRange {
  min: number;
  max: number;
}

export interface GeneratorOptions {
  seed: number;
  /** Number of records to generate (initial budget updates included). */
  events: number;
  /** Default 20. */
  advertisers?: number;
  /** Zipf exponent of traffic across advertisers. Default 1.1. */
  zipfExponent?: number;
  /** Record timestamp of the first record. Default 2026-11-25T21:00:00Z (the stream crosses midnight UTC). */
  startMs?: number;
  /** Time between consecutive record timestamps (may be fractional). Default spanMs / events. */
  intervalMs?: number;
  /** Total time covered when intervalMs is not given. Default 6 hours. */
  spanMs?: number;
  /** Click amounts. Default 0.05..2.00 units. */
  amountMicros?: MicrosRange;
  /** Budgets. Default 20..2000 units. */
  budgetMicros?: MicrosRange;
  shares?: Partial<GeneratorShares>;
  /** Largest out-of-order lag of ordinary clicks. Default 2 hours. */
  outOfOrderMaxMs?: number;
  /** Share of advertisers that send the seed's exact shape (no advertiser_id, naive Python timestamps). */
  seedShapeShare?: number;
  /** Share of advertisers whose advertiser_id is a JSON number. Default 0.1. */
  numericIdShare?: number;
  /** Begin with one budget_update per advertiser (budgetChannel "events" only). Default true. */
  initialBudgets?: boolean;
  /**
   * How the advertisers' own budgets reach the pipeline. "events" (default): budget_update events (the initial
   * ones and the budgetUpdate share), and budget_value on every seed-shape click and 30 % of the others.
   * "clicks": like the seed's web app, no budget_update events at all; every click carries the budget the
   * advertiser has set (budgetUpdate changes it for the following clicks).
   */
  budgetChannel?: "events" | "clicks";
  /**
   * Share of advertisers in hard_cap: their budget_update events carry `"budget_mode":"hard_cap"`, except one
   * in ten of the later ones, which switches to `"observe"` (until the next). Default 0: every advertiser in
   * observe, streams the same as before modes existed.
   */
  hardCapShare?: number;
  /**
   * Share of advertisers with a calendar of their own: every budget_update of theirs carries a `budget_period`
   * and an IANA `time_zone` (fixed per advertiser, from GENERATOR_CALENDARS: DST and half-hour zones). Default
   * 0: every advertiser on the service-wide calendar, streams the same as before calendars existed.
   */
  calendarShare?: number;
  /**
   * Share of advertisers that pace: every budget_update of theirs (operators' included) carries `"pacing"`, the
   * advertiser's own mode from GENERATOR_PACINGS (by index: even, shaped, asap), except one in ten of the later
   * ones, which switches to another mode (until the next). Default 0: no pacing field anywhere, streams the same
   * as before pacing existed.
   */
  pacingShare?: number;
  /** Prefix of click ids, so that streams of different runs never share a click_id. Default `s<seed>`. */
  runId?: string;
  /** The parse limits the stream is crafted against (lateness, skew, size, amount). Defaults: parseEvent's. */
  limits?: Partial<typeof DEFAULT_PARSE_OPTIONS>;
}

export const DEFAULT_GENERATOR_SHARES: Readonly<GeneratorShares> = Object.freeze({
  duplicate: 0.03,
  malformed: 0.01,
  late: 0.005,
  future: 0.005,
  invalid: 0.02,
  budgetUpdate: 0.005,
  operatorBudget: 0,
  outOfOrder: 0.1,
});

/** The calendars calendarShare's advertisers get, by advertiser index: DST zones, half-hour offsets, every period. */
export const GENERATOR_CALENDARS: readonly BudgetCalendar[] = Object.freeze([
  { period: "day", timeZone: "America/New_York" },
  { period: "day", timeZone: "Europe/Berlin" },
  { period: "day", timeZone: "Asia/Kolkata" },
  { period: "hour", timeZone: "Asia/Kolkata" },
  { period: "month", timeZone: "America/New_York" },
  { period: "lifetime", timeZone: "UTC" },
  { period: "hour", timeZone: "UTC" },
]);

/** The pacing modes pacingShare's advertisers get, by advertiser index. */
export const GENERATOR_PACINGS: readonly PacingMode[] = Object.freeze(["even", "shaped", "asap"]);

export const DEFAULT_GENERATOR_START_MS = Date.UTC(2026, 10, 25, 21, 0, 0);

interface Advertiser {
  readonly index: number;
  /** The budget key as parseEvent will report it. */
  readonly id: string;
  /** What goes into the JSON: a string, or a number for numeric ids; null for seed-shaped advertisers. */
  readonly idJson: string | null;
  readonly name: string;
  readonly seedShape: boolean;
  budgetMicros: number;
  /** In hard_cap (hardCapShare): its budget updates carry a budget_mode. */
  hardCap?: boolean;
  /** Its own calendar (calendarShare): the budget_period / time_zone fields of its budget updates. */
  calendarJson?: string;
  /** Its own pacing mode (pacingShare): the `pacing` field of its budget updates. */
  pacing?: PacingMode;
}

const encoder = new TextEncoder();
const DUPLICATE_RING = 512;
const MALFORMED_NON_OBJECTS = [
  "[1,2,3]",
  '"ad_click"',
  "42",
  "null",
  "true",
  "[]",
  '[{"event_type":"ad_click"}]',
];
const BAD_TIMESTAMPS = [
  '"yesterday"',
  '"2026-13-01T00:00:00Z"',
  '"2026-02-30T10:00:00Z"',
  '"1700000000000"',
  "true",
];

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

/** Python's datetime.utcnow().isoformat(): no zone, microseconds only when non-zero. */
export function pythonUtcIsoformat(ms: number, microsWithinMilli: number): string {
  const iso = formatIsoUtc(ms);
  const base = iso.slice(0, 19);
  const micros = (ms - Math.floor(ms / MS_PER_SECOND) * MS_PER_SECOND) * 1000 + microsWithinMilli;
  return micros === 0 ? base : `${base}.${pad(micros, 6)}`;
}

function isoWithOffset(ms: number, offsetMinutes: number): string {
  const local = formatIsoUtc(ms + offsetMinutes * MS_PER_MINUTE).slice(0, 23);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
}

function checkShare(name: string, value: number): void {
  if (!(value >= 0 && value <= 1))
    throw new CoreError("invalid_options", `share ${name} must be in [0, 1]: ${value}`);
}

/**
 * A deterministic stream of Kafka records for tests and benchmarks: the same options give the same bytes.
 * A generator, so a million records never sit in memory at once. Records are keyed by advertiser id; the
 * record timestamps advance by intervalMs and event times follow them (ordinary clicks lag by 0..2 s,
 * out-of-order ones by up to outOfOrderMaxMs).
 */
export function* generateStream(options: GeneratorOptions): Generator<GeneratedRecord, void, undefined> {
  const events = options.events;
  if (!Number.isSafeInteger(events) || events < 0) {
    throw new CoreError("invalid_options", `events must be a non-negative integer: ${events}`);
  }
  const advertiserCount = options.advertisers ?? 20;
  if (!Number.isInteger(advertiserCount) || advertiserCount < 1) {
    throw new CoreError("invalid_options", `advertisers must be a positive integer: ${advertiserCount}`);
  }
  const shares: GeneratorShares = { ...DEFAULT_GENERATOR_SHARES, ...options.shares };
  for (const [name, value] of Object.entries(shares)) checkShare(name, value);
  const nonClick =
    shares.duplicate +
    shares.malformed +
    shares.late +
    shares.future +
    shares.invalid +
    shares.budgetUpdate +
    shares.operatorBudget;
  if (nonClick > 1 + 1e-9)
    throw new CoreError("invalid_options", `shares add up to more than 1: ${nonClick}`);
  const limits = { ...DEFAULT_PARSE_OPTIONS, ...options.limits };
  const amount = options.amountMicros ?? { min: 50_000, max: 2 * MICROS_PER_UNIT };
  const budget = options.budgetMicros ?? { min: 20 * MICROS_PER_UNIT, max: 2_000 * MICROS_PER_UNIT };
  for (const [name, range] of [
    ["amountMicros", amount],
    ["budgetMicros", budget],
  ] as const) {
    if (!Number.isSafeInteger(range.min) || !Number.isSafeInteger(range.max) || range.min > range.max) {
      throw new CoreError("invalid_options", `${name} must be a safe-integer range with min <= max`);
    }
  }
  if (amount.min <= 0 || amount.max > limits.maxAmountMicros) {
    throw new CoreError("invalid_options", "amountMicros must lie in (0, maxAmountMicros]");
  }
  const budgetsOnClicks = (options.budgetChannel ?? "events") === "clicks";
  if (options.budgetChannel !== undefined && options.budgetChannel !== "events" && !budgetsOnClicks) {
    throw new CoreError(
      "invalid_options",
      `budgetChannel must be "events" or "clicks": ${options.budgetChannel}`,
    );
  }
  const startMs = options.startMs ?? DEFAULT_GENERATOR_START_MS;
  const intervalMs = options.intervalMs ?? (options.spanMs ?? 6 * MS_PER_HOUR) / Math.max(1, events);
  // A second of headroom: some timestamp formats truncate to the second, which must not make a click late.
  const lagLimitMs = Math.max(0, limits.latenessHorizonMs - MS_PER_SECOND);
  const outOfOrderMaxMs = Math.min(options.outOfOrderMaxMs ?? 2 * MS_PER_HOUR, lagLimitMs);
  /** Producer latency of ordinary events. */
  const smallLagMs = Math.min(2 * MS_PER_SECOND, lagLimitMs);
  const runId = options.runId ?? `s${options.seed}`;
  const rng = new Prng(options.seed);
  const zipf = new ZipfSampler(advertiserCount, options.zipfExponent ?? 1.1);

  const seedShapeShare = options.seedShapeShare ?? 0.25;
  const numericIdShare = options.numericIdShare ?? 0.1;
  const advertisers: Advertiser[] = [];
  for (let index = 0; index < advertiserCount; index++) {
    const roll = rng.next();
    const number = index + 1;
    const randomBudget = rng.int(budget.min, budget.max);
    if (roll < seedShapeShare) {
      const name = `advertiser-${number}`;
      advertisers.push({ index, id: name, idJson: null, name, seedShape: true, budgetMicros: randomBudget });
    } else if (roll < seedShapeShare + numericIdShare) {
      const id = String(100_000 + number);
      advertisers.push({
        index,
        id,
        idJson: id,
        name: `Advertiser ${number}`,
        seedShape: false,
        budgetMicros: randomBudget,
      });
    } else {
      const id = `adv-${pad(number, 4)}`;
      advertisers.push({
        index,
        id,
        idJson: JSON.stringify(id),
        name: `Advertiser ${number}`,
        seedShape: false,
        budgetMicros: randomBudget,
      });
    }
  }

  // Chosen without the PRNG (a golden-ratio sequence), so a share of 0 leaves every stream as it was.
  const hardCapShare = options.hardCapShare ?? 0;
  for (const adv of advertisers) adv.hardCap = ((adv.index + 1) * 0.618_033_988_75) % 1 < hardCapShare;
  /** The budget_mode field of an advertiser's budget update ("" for observe advertisers). */
  const modeJson = (adv: Advertiser, initial: boolean): string => {
    if (adv.hardCap !== true) return "";
    return !initial && rng.chance(0.1) ? `,"budget_mode":"observe"` : `,"budget_mode":"hard_cap"`;
  };

  const calendarShare = options.calendarShare ?? 0;
  checkShare("calendarShare", calendarShare);
  for (const adv of advertisers) {
    if (((adv.index + 1) * 0.414_213_562_37) % 1 >= calendarShare) continue;
    const calendar = GENERATOR_CALENDARS[adv.index % GENERATOR_CALENDARS.length] as BudgetCalendar;
    adv.calendarJson = `,"budget_period":"${calendar.period}","time_zone":"${calendar.timeZone}"`;
  }
  const calendarJson = (adv: Advertiser): string => adv.calendarJson ?? "";

  const pacingShare = options.pacingShare ?? 0;
  checkShare("pacingShare", pacingShare);
  for (const adv of advertisers) {
    if (((adv.index + 1) * 0.732_050_807_57) % 1 < pacingShare)
      adv.pacing = GENERATOR_PACINGS[adv.index % GENERATOR_PACINGS.length] as PacingMode;
  }
  /** The pacing field of an advertiser's budget update ("" for advertisers that never pace). */
  const pacingJson = (adv: Advertiser, initial: boolean): string => {
    if (adv.pacing === undefined) return "";
    const own = adv.pacing;
    const pacing = !initial && rng.chance(0.1) ? rng.pick(GENERATOR_PACINGS.filter((p) => p !== own)) : own;
    return `,"pacing":"${pacing}"`;
  };

  const ring: GeneratedRecord[] = [];
  let ringNext = 0;
  let clickSeq = 0;

  const advertiserFields = (adv: Advertiser): string =>
    adv.idJson === null
      ? `"advertiser":${JSON.stringify(adv.name)}`
      : `"advertiser":${JSON.stringify(adv.name)},"advertiser_id":${adv.idJson}`;

  const timestampJson = (adv: Advertiser, eventMs: number): string => {
    if (adv.seedShape) {
      // Now and then a whole second, which Python prints without a fraction.
      if (rng.chance(0.05))
        return `"${pythonUtcIsoformat(Math.floor(eventMs / MS_PER_SECOND) * MS_PER_SECOND, 0)}"`;
      return `"${pythonUtcIsoformat(eventMs, rng.int(0, 999))}"`;
    }
    const style = rng.int(0, 9);
    if (style <= 4) return `"${formatIsoUtc(eventMs)}"`;
    if (style <= 6) return String(eventMs);
    if (style === 7) return `"${isoWithOffset(eventMs, rng.pick([60, 120, -300, 330, -210]))}"`;
    if (style === 8) return `"${pythonUtcIsoformat(eventMs, rng.int(0, 999))}"`;
    return `"${formatIsoUtc(eventMs).slice(0, 19)}Z"`;
  };

  const amountJson = (micros: number): string => {
    const style = rng.int(0, 9);
    if (style <= 5) return microsToNumberString(micros);
    if (style <= 7) return `"${formatMicros(micros)}"`;
    if (style === 8) return `"${microsToNumberString(micros)}"`;
    // Float noise below half a micro (like 0.30000000000000004): rounds back to the same micros.
    const text = microsToNumberString(micros);
    return text.includes(".") ? `${text}00000001` : `${text}.00000000001`;
  };

  const budgetJson = (micros: number): string => {
    const text = microsToNumberString(micros);
    // The seed writes budgets as floats ("budget_value": 1000.0).
    return text.includes(".") ? text : `${text}.0`;
  };

  const clickJson = (adv: Advertiser, clickId: string, eventMs: number, amountText: string): string => {
    const adId = `"ad_id":"ad-${pad(adv.index + 1, 4)}-${rng.int(1, 40)}"`;
    const withBudget = budgetsOnClicks || adv.seedShape || rng.chance(0.3);
    const budgetPart = withBudget ? `,"budget_value":${budgetJson(adv.budgetMicros)}` : "";
    return `{"event_type":"ad_click","click_id":${JSON.stringify(clickId)},${advertiserFields(adv)},${adId},"amount":${amountText}${budgetPart},"timestamp":${timestampJson(adv, eventMs)}}`;
  };

  const nextClickId = (): string => `${runId}-c${(clickSeq++).toString(36)}`;

  const record = (
    key: string | null,
    json: string,
    timestampMs: number,
    kind: GeneratedKind,
  ): GeneratedRecord => ({
    key,
    value: encoder.encode(json),
    timestampMs,
    kind,
  });

  const remember = (r: GeneratedRecord): GeneratedRecord => {
    if (ring.length < DUPLICATE_RING) ring.push(r);
    else {
      ring[ringNext] = r;
      ringNext = (ringNext + 1) % DUPLICATE_RING;
    }
    return r;
  };

  const budgetUpdate = (adv: Advertiser, ts: number, initial: boolean): GeneratedRecord => {
    adv.budgetMicros = !initial && rng.chance(0.05) ? 0 : rng.int(budget.min, budget.max);
    // Initial budgets are dated before any out-of-order click can be, so every window has a budget in force.
    const eventMs = initial
      ? ts - Math.min(outOfOrderMaxMs + MS_PER_MINUTE, lagLimitMs)
      : ts - rng.int(0, smallLagMs);
    const json = `{"event_type":"budget_update",${advertiserFields(adv)},"budget_value":${budgetJson(adv.budgetMicros)}${modeJson(adv, initial)}${calendarJson(adv)}${pacingJson(adv, initial)},"timestamp":${timestampJson(adv, eventMs)}}`;
    return record(adv.id, json, ts, "budget_update");
  };

  /** An operator's budget: the advertiser's click producer does not learn it (adv.budgetMicros stays). */
  const operatorBudget = (adv: Advertiser, ts: number): GeneratedRecord => {
    const micros = rng.chance(0.05) ? 0 : rng.int(budget.min, budget.max);
    const eventMs = ts - rng.int(0, smallLagMs);
    const source = rng.chance(0.5) ? `,"budget_source":"api"` : "";
    const json = `{"event_type":"budget_update",${advertiserFields(adv)},"budget_value":${budgetJson(micros)}${source}${modeJson(adv, false)}${calendarJson(adv)}${pacingJson(adv, false)},"timestamp":${timestampJson(adv, eventMs)}}`;
    return record(adv.id, json, ts, "budget_update");
  };

  const ordinaryClick = (adv: Advertiser, ts: number): GeneratedRecord => {
    const lag = rng.chance(shares.outOfOrder) ? rng.int(0, outOfOrderMaxMs) : rng.int(0, smallLagMs);
    const json = clickJson(adv, nextClickId(), ts - lag, amountJson(rng.int(amount.min, amount.max)));
    return remember(record(adv.id, json, ts, "click"));
  };

  const invalidClick = (adv: Advertiser, ts: number): GeneratedRecord => {
    const eventMs = ts - rng.int(0, smallLagMs);
    const goodAmount = microsToNumberString(rng.int(amount.min, amount.max));
    const defect = rng.int(0, 13);
    let key: string | null = adv.id;
    let json: string;
    let dedupable = true;
    switch (defect) {
      case 0:
        json = clickJson(adv, nextClickId(), eventMs, "0");
        break;
      case 1:
        json = clickJson(adv, nextClickId(), eventMs, `-${goodAmount}`);
        break;
      case 2:
        json = clickJson(
          adv,
          nextClickId(),
          eventMs,
          microsToNumberString(limits.maxAmountMicros + MICROS_PER_UNIT),
        );
        break;
      case 3:
        json = clickJson(adv, nextClickId(), eventMs, '"abc"');
        break;
      case 4:
        json = clickJson(adv, nextClickId(), eventMs, '"0.0000001"');
        break;
      case 5:
        json = `{"event_type":"ad_click","click_id":${JSON.stringify(nextClickId())},${advertiserFields(adv)},"timestamp":${timestampJson(adv, eventMs)}}`;
        break;
      case 6:
        json = `{"event_type":"ad_click",${advertiserFields(adv)},"amount":${goodAmount},"timestamp":${timestampJson(adv, eventMs)}}`;
        dedupable = false;
        break;
      case 7:
        json = clickJson(adv, "x".repeat(FIELD_MAX_LENGTH.click_id + 1), eventMs, goodAmount);
        dedupable = false;
        break;
      case 8:
        json = `{"event_type":"ad_click","click_id":${JSON.stringify(nextClickId())},${advertiserFields(adv)},"amount":${goodAmount}}`;
        break;
      case 9:
        json = `{"event_type":"ad_click","click_id":${JSON.stringify(nextClickId())},${advertiserFields(adv)},"amount":${goodAmount},"timestamp":${rng.pick(BAD_TIMESTAMPS)}}`;
        break;
      case 10:
        json = `{"event_type":"ad_view","click_id":${JSON.stringify(nextClickId())},${advertiserFields(adv)},"amount":${goodAmount},"timestamp":${timestampJson(adv, eventMs)}}`;
        dedupable = false;
        break;
      case 11:
        json = `{"click_id":${JSON.stringify(nextClickId())},${advertiserFields(adv)},"amount":${goodAmount},"timestamp":${timestampJson(adv, eventMs)}}`;
        dedupable = false;
        break;
      case 12:
        json = `{"event_type":"ad_click","click_id":${JSON.stringify(nextClickId())},"ad_id":"ad-0","amount":${goodAmount},"timestamp":${timestampJson(adv, eventMs)}}`;
        key = null;
        dedupable = false;
        break;
      default:
        json = `{"event_type":"ad_click","click_id":${JSON.stringify(nextClickId())},${advertiserFields(adv)},"amount":${goodAmount},"budget_value":-5,"timestamp":${timestampJson(adv, eventMs)}}`;
    }
    const r = record(key, json, ts, "invalid");
    return dedupable ? remember(r) : r;
  };

  const timedClick = (adv: Advertiser, ts: number, kind: "late" | "future"): GeneratedRecord => {
    const eventMs =
      kind === "late"
        ? ts - limits.latenessHorizonMs - rng.int(MS_PER_SECOND, 2 * MS_PER_DAY)
        : ts + limits.maxFutureSkewMs + rng.int(MS_PER_SECOND, MS_PER_HOUR);
    const json = clickJson(adv, nextClickId(), eventMs, amountJson(rng.int(amount.min, amount.max)));
    return remember(record(adv.id, json, ts, kind));
  };

  const malformed = (adv: Advertiser, ts: number): GeneratedRecord => {
    const key = rng.chance(0.5) ? adv.id : null;
    const variant = rng.int(0, 19);
    const click = clickJson(adv, nextClickId(), ts, microsToNumberString(rng.int(amount.min, amount.max)));
    if (variant <= 5) {
      return record(key, click.slice(0, rng.int(1, click.length - 1)), ts, "malformed");
    }
    if (variant <= 10) {
      const bytes = encoder.encode(click);
      const out = new Uint8Array(bytes.length + 1);
      const at = rng.int(2, bytes.length - 2);
      out.set(bytes.subarray(0, at), 0);
      out[at] = rng.pick([0xff, 0xc3, 0x80, 0xed]);
      out.set(bytes.subarray(at), at + 1);
      return { key, value: out, timestampMs: ts, kind: "malformed" };
    }
    if (variant <= 16) return record(key, rng.pick(MALFORMED_NON_OBJECTS), ts, "malformed");
    if (variant <= 18) return { key, value: new Uint8Array(0), timestampMs: ts, kind: "malformed" };
    const padding = "x".repeat(limits.maxPayloadBytes);
    return record(key, `${click.slice(0, -1)},"padding":"${padding}"}`, ts, "malformed");
  };

  const cumulative = [
    shares.duplicate,
    shares.duplicate + shares.malformed,
    shares.duplicate + shares.malformed + shares.late,
    shares.duplicate + shares.malformed + shares.late + shares.future,
    shares.duplicate + shares.malformed + shares.late + shares.future + shares.invalid,
    shares.duplicate + shares.malformed + shares.late + shares.future + shares.invalid + shares.budgetUpdate,
    nonClick,
  ];

  const initial =
    (options.initialBudgets ?? true) && !budgetsOnClicks ? Math.min(events, advertiserCount) : 0;
  for (let i = 0; i < events; i++) {
    const ts = startMs + Math.floor(i * intervalMs);
    if (i < initial) {
      yield budgetUpdate(advertisers[i] as Advertiser, ts, true);
      continue;
    }
    const adv = advertisers[zipf.sample(rng)] as Advertiser;
    const roll = rng.next();
    if (roll < (cumulative[0] as number)) {
      if (ring.length > 0) {
        const original = rng.pick(ring);
        yield { key: original.key, value: original.value, timestampMs: ts, kind: "duplicate" };
        continue;
      }
      yield ordinaryClick(adv, ts);
    } else if (roll < (cumulative[1] as number)) yield malformed(adv, ts);
    else if (roll < (cumulative[2] as number)) yield timedClick(adv, ts, "late");
    else if (roll < (cumulative[3] as number)) yield timedClick(adv, ts, "future");
    else if (roll < (cumulative[4] as number)) yield invalidClick(adv, ts);
    else if (roll < (cumulative[5] as number)) {
      if (!budgetsOnClicks) yield budgetUpdate(adv, ts, false);
      else {
        adv.budgetMicros = rng.int(budget.min, budget.max);
        yield ordinaryClick(adv, ts);
      }
    } else if (roll < (cumulative[6] as number)) yield operatorBudget(adv, ts);
    else yield ordinaryClick(adv, ts);
  }
}
