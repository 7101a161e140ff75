import { canonicalTimeZone } from "./budget-period.js";
import {
  BUDGET_PERIODS,
  type BudgetMode,
  type BudgetPeriod,
  type BudgetSource,
  type ErrorCode,
  type EventType,
  type PacingMode,
  type ParsedEvent,
  type ParseOptions,
  type ParseResult,
  type RejectedEvent,
  type RejectionCode,
  type WarningCode,
} from "./contract.js";
import { CoreError } from "./errors.js";
import { hasBadIdChars, MAX_ADVERTISER_ID_LENGTH } from "./ids.js";
import { MICROS_PER_UNIT, parseMoneyToMicros } from "./money.js";
import { IsoTimestamp, isEpochMs, readIsoTimestamp } from "./timestamp.js";

export const DEFAULT_PARSE_OPTIONS = Object.freeze({
  maxAmountMicros: 1_000 * MICROS_PER_UNIT,
  maxFutureSkewMs: 5 * 60_000,
  latenessHorizonMs: 7 * 86_400_000,
  maxPayloadBytes: 64 * 1024,
  maxBudgetMicros: 1_000_000_000 * MICROS_PER_UNIT,
}) satisfies Required<Omit<ParseOptions, "referenceTimeMs">>;

/** Longest accepted string per field, in UTF-16 code units (String#length). */
export const FIELD_MAX_LENGTH = Object.freeze({
  click_id: 128,
  reservation_id: 128,
  advertiser_id: MAX_ADVERTISER_ID_LENGTH,
  ad_id: 128,
  advertiser: 256,
});

/** Fields the contract reads; any other top-level key is kept in Bronze only (warning unknown_fields). */
export const KNOWN_FIELDS = [
  "event_type",
  "click_id",
  "advertiser",
  "advertiser_id",
  "ad_id",
  "amount",
  "budget_value",
  "timestamp",
  "budget_source",
  "budget_mode",
  "reservation_id",
  "budget_period",
  "time_zone",
  "pacing",
] as const;

const NO_CODES: readonly never[] = Object.freeze([]);
const DETAIL_MAX = 160;

/** Strict decoder: invalid UTF-8 is a rejection, never silently replaced by U+FFFD. A leading BOM is dropped. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

function reject(reason: RejectionCode, detail: string): RejectedEvent {
  return {
    ok: false,
    reason,
    detail: detail.length > DETAIL_MAX ? `${detail.slice(0, DETAIL_MAX)}…` : detail,
  };
}

/** UTF-8 byte length of a string; stops counting (and returns early) once it exceeds `limit`. */
function utf8ByteLengthUpTo(s: string, limit: number): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
    if (bytes > limit) return bytes;
  }
  return bytes;
}

/**
 * Reads one Kafka record value as an event. Never throws on any payload: the result is either a ParsedEvent
 * (valid or carrying error findings) or a RejectedEvent (not an event object at all). Throws CoreError
 * ("invalid_options") only when the options themselves are wrong, which is a programming error.
 * Callers that parse many records pass one ParseContext for all of them: the per-record path then allocates
 * only the result.
 */
export function parseEvent(
  payload: Uint8Array | string | null | undefined,
  options: ParseOptions,
  context: ParseContext = new ParseContext(),
): ParseResult {
  const maxBytes = options.maxPayloadBytes ?? DEFAULT_PARSE_OPTIONS.maxPayloadBytes;
  let text: string;
  if (payload === null || payload === undefined) return reject("payload_empty", "no record value (null)");
  if (typeof payload === "string") {
    if (payload.length === 0) return reject("payload_empty", "empty record value");
    if (payload.length > maxBytes) return reject("payload_too_large", `payload exceeds ${maxBytes} bytes`);
    if (payload.length * 3 > maxBytes) {
      const bytes = utf8ByteLengthUpTo(payload, maxBytes);
      if (bytes > maxBytes) return reject("payload_too_large", `payload exceeds ${maxBytes} bytes`);
    }
    text = payload;
  } else if (payload instanceof Uint8Array) {
    if (payload.byteLength === 0) return reject("payload_empty", "empty record value");
    if (payload.byteLength > maxBytes) {
      return reject("payload_too_large", `payload of ${payload.byteLength} bytes exceeds ${maxBytes} bytes`);
    }
    try {
      text = utf8.decode(payload);
    } catch {
      return reject("invalid_utf8", `payload of ${payload.byteLength} bytes is not valid UTF-8`);
    }
  } else {
    return reject("malformed_json", `record value is a ${typeof payload}, not bytes or a string`);
  }
  if (scanFlatObject(text, context.fields)) return validateFields(context, options);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // V8's message quotes at most a short excerpt of the payload, which is what operators need.
    return reject("malformed_json", error instanceof Error ? error.message : "not JSON");
  }
  return validateEventValue(value, options, context);
}

/** The top-level values the contract reads, as found in the payload (undefined when the key is absent). */
class RawFields {
  eventType: unknown = undefined;
  clickId: unknown = undefined;
  advertiser: unknown = undefined;
  advertiserId: unknown = undefined;
  adId: unknown = undefined;
  amount: unknown = undefined;
  budget: unknown = undefined;
  timestamp: unknown = undefined;
  budgetSource: unknown = undefined;
  budgetMode: unknown = undefined;
  reservationId: unknown = undefined;
  budgetPeriod: unknown = undefined;
  timeZone: unknown = undefined;
  pacing: unknown = undefined;
  unknownFields = false;
  /** Set by the fast path: every string is printable ASCII, so ids need no character check. */
  printableAscii = false;

  reset(): void {
    this.eventType = undefined;
    this.clickId = undefined;
    this.advertiser = undefined;
    this.advertiserId = undefined;
    this.adId = undefined;
    this.amount = undefined;
    this.budget = undefined;
    this.timestamp = undefined;
    this.budgetSource = undefined;
    this.budgetMode = undefined;
    this.reservationId = undefined;
    this.budgetPeriod = undefined;
    this.timeZone = undefined;
    this.pacing = undefined;
    this.unknownFields = false;
    this.printableAscii = false;
  }

  /** Last occurrence of a key wins, as with JSON.parse. */
  set(key: string, value: unknown): void {
    switch (key) {
      case "event_type":
        this.eventType = value;
        break;
      case "click_id":
        this.clickId = value;
        break;
      case "advertiser":
        this.advertiser = value;
        break;
      case "advertiser_id":
        this.advertiserId = value;
        break;
      case "ad_id":
        this.adId = value;
        break;
      case "amount":
        this.amount = value;
        break;
      case "budget_value":
        this.budget = value;
        break;
      case "timestamp":
        this.timestamp = value;
        break;
      case "budget_source":
        this.budgetSource = value;
        break;
      case "budget_mode":
        this.budgetMode = value;
        break;
      case "reservation_id":
        this.reservationId = value;
        break;
      case "budget_period":
        this.budgetPeriod = value;
        break;
      case "time_zone":
        this.timeZone = value;
        break;
      case "pacing":
        this.pacing = value;
        break;
      default:
        // Includes "__proto__" and "constructor": plain unknown fields, never merged into anything.
        this.unknownFields = true;
    }
  }
}

/**
 * The working records of parseEvent, reused from one call to the next by a caller that parses many records
 * (one per batch loop or per consumer). parseEvent is synchronous: one context serves every call made from
 * one loop, but it must not be shared between parses that interleave.
 */
export class ParseContext {
  readonly fields = new RawFields();
  readonly timestamp = new IsoTimestamp();
}

function skipWhitespace(s: string, i: number): number {
  let c = s.charCodeAt(i);
  while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++i);
  return i;
}

/** The value of an unsigned integer of at most 15 digits at s[start, end) (epoch ms, whole amounts), else -1. */
function plainIntegerAt(s: string, start: number, end: number): number {
  if (end - start > 15) return -1;
  let value = 0;
  for (let j = start; j < end; j++) {
    const d = s.charCodeAt(j) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** End index of a JSON number (strict grammar) starting at i, or -1. */
function scanNumber(s: string, i: number): number {
  let j = i;
  if (s.charCodeAt(j) === 45) j++;
  let c = s.charCodeAt(j);
  if (c === 48) j++;
  else if (c >= 49 && c <= 57) {
    do c = s.charCodeAt(++j);
    while (c >= 48 && c <= 57);
  } else return -1;
  if (s.charCodeAt(j) === 46) {
    c = s.charCodeAt(++j);
    if (!(c >= 48 && c <= 57)) return -1;
    do c = s.charCodeAt(++j);
    while (c >= 48 && c <= 57);
  }
  c = s.charCodeAt(j);
  if (c === 101 || c === 69) {
    c = s.charCodeAt(++j);
    if (c === 43 || c === 45) c = s.charCodeAt(++j);
    if (!(c >= 48 && c <= 57)) return -1;
    do c = s.charCodeAt(++j);
    while (c >= 48 && c <= 57);
  }
  return j;
}

/**
 * Index of the closing quote of a string starting at i, or -1 to leave the payload to JSON.parse. The fast
 * path takes printable-ASCII strings without escapes only: then no string can hold a control character or a
 * lone surrogate and the per-id character checks can be skipped. Escapes, non-ASCII names and raw control
 * characters (invalid JSON anyway) go to JSON.parse.
 */
function endOfPlainString(s: string, i: number): number {
  for (let j = i; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 34) return j;
    if (c < 32 || c === 92 || c > 126) return -1;
  }
  return -1;
}

const KEY_EVENT_TYPE = 1;
const KEY_CLICK_ID = 2;
const KEY_ADVERTISER = 3;
const KEY_ADVERTISER_ID = 4;
const KEY_AD_ID = 5;
const KEY_AMOUNT = 6;
const KEY_BUDGET = 7;
const KEY_TIMESTAMP = 8;
const KEY_BUDGET_SOURCE = 9;
const KEY_BUDGET_MODE = 10;
const KEY_RESERVATION_ID = 11;
const KEY_BUDGET_PERIOD = 12;
const KEY_TIME_ZONE = 13;
const KEY_PACING = 14;
const KEY_UNKNOWN = 0;

/** Whether s[start, start + name.length) spells `name` (a JIT-friendly loop instead of a builtin call). */
function spells(s: string, start: number, name: string): boolean {
  for (let k = 0; k < name.length; k++) {
    if (s.charCodeAt(start + k) !== name.charCodeAt(k)) return false;
  }
  return true;
}

/** Which known key the characters s[start, end) spell, without slicing a string. */
function keyAt(s: string, start: number, end: number): number {
  switch (end - start) {
    case 5:
      return spells(s, start, "ad_id") ? KEY_AD_ID : KEY_UNKNOWN;
    case 6:
      if (s.charCodeAt(start) === 112) return spells(s, start, "pacing") ? KEY_PACING : KEY_UNKNOWN;
      return spells(s, start, "amount") ? KEY_AMOUNT : KEY_UNKNOWN;
    case 8:
      return spells(s, start, "click_id") ? KEY_CLICK_ID : KEY_UNKNOWN;
    case 9:
      if (s.charCodeAt(start + 4) === 115) return spells(s, start, "timestamp") ? KEY_TIMESTAMP : KEY_UNKNOWN;
      return spells(s, start, "time_zone") ? KEY_TIME_ZONE : KEY_UNKNOWN;
    case 10:
      if (s.charCodeAt(start) === 101) return spells(s, start, "event_type") ? KEY_EVENT_TYPE : KEY_UNKNOWN;
      return spells(s, start, "advertiser") ? KEY_ADVERTISER : KEY_UNKNOWN;
    case 11:
      return spells(s, start, "budget_mode") ? KEY_BUDGET_MODE : KEY_UNKNOWN;
    case 12:
      return spells(s, start, "budget_value") ? KEY_BUDGET : KEY_UNKNOWN;
    case 13:
      if (s.charCodeAt(start) === 98) {
        if (s.charCodeAt(start + 7) === 112)
          return spells(s, start, "budget_period") ? KEY_BUDGET_PERIOD : KEY_UNKNOWN;
        return spells(s, start, "budget_source") ? KEY_BUDGET_SOURCE : KEY_UNKNOWN;
      }
      return spells(s, start, "advertiser_id") ? KEY_ADVERTISER_ID : KEY_UNKNOWN;
    case 14:
      return spells(s, start, "reservation_id") ? KEY_RESERVATION_ID : KEY_UNKNOWN;
    default:
      return KEY_UNKNOWN;
  }
}

/**
 * Fast path for the common payload: one flat JSON object of printable-ASCII text whose values are strings,
 * numbers, true/false/null. Fills `raw` exactly as JSON.parse + own-key reading would (the last
 * of repeated keys wins), or returns false and leaves the payload to JSON.parse (nested values, escapes,
 * anything unusual or invalid). Equivalence with the JSON.parse path is property-tested.
 */
function scanFlatObject(s: string, raw: RawFields): boolean {
  raw.reset();
  raw.printableAscii = true;
  let i = skipWhitespace(s, 0);
  if (s.charCodeAt(i) !== 123) return false;
  i = skipWhitespace(s, i + 1);
  if (s.charCodeAt(i) === 125) return skipWhitespace(s, i + 1) === s.length;
  for (;;) {
    if (s.charCodeAt(i) !== 34) return false;
    const keyEnd = endOfPlainString(s, i + 1);
    if (keyEnd < 0) return false;
    const key = keyAt(s, i + 1, keyEnd);
    i = skipWhitespace(s, keyEnd + 1);
    if (s.charCodeAt(i) !== 58) return false;
    i = skipWhitespace(s, i + 1);
    const c = s.charCodeAt(i);
    let value: unknown;
    if (c === 34) {
      const end = endOfPlainString(s, i + 1);
      if (end < 0) return false;
      value = s.slice(i + 1, end);
      i = end + 1;
    } else if (c === 45 || (c >= 48 && c <= 57)) {
      const end = scanNumber(s, i);
      if (end < 0) return false;
      value = plainIntegerAt(s, i, end);
      if (value === -1) value = Number(s.slice(i, end));
      i = end;
    } else if (c === 116 && s.startsWith("true", i)) {
      value = true;
      i += 4;
    } else if (c === 102 && s.startsWith("false", i)) {
      value = false;
      i += 5;
    } else if (c === 110 && s.startsWith("null", i)) {
      value = null;
      i += 4;
    } else return false;
    switch (key) {
      case KEY_EVENT_TYPE:
        raw.eventType = value;
        break;
      case KEY_CLICK_ID:
        raw.clickId = value;
        break;
      case KEY_ADVERTISER:
        raw.advertiser = value;
        break;
      case KEY_ADVERTISER_ID:
        raw.advertiserId = value;
        break;
      case KEY_AD_ID:
        raw.adId = value;
        break;
      case KEY_AMOUNT:
        raw.amount = value;
        break;
      case KEY_BUDGET:
        raw.budget = value;
        break;
      case KEY_TIMESTAMP:
        raw.timestamp = value;
        break;
      case KEY_BUDGET_SOURCE:
        raw.budgetSource = value;
        break;
      case KEY_BUDGET_MODE:
        raw.budgetMode = value;
        break;
      case KEY_RESERVATION_ID:
        raw.reservationId = value;
        break;
      case KEY_BUDGET_PERIOD:
        raw.budgetPeriod = value;
        break;
      case KEY_TIME_ZONE:
        raw.timeZone = value;
        break;
      case KEY_PACING:
        raw.pacing = value;
        break;
      default:
        raw.unknownFields = true;
    }
    i = skipWhitespace(s, i);
    const next = s.charCodeAt(i);
    if (next === 44) i = skipWhitespace(s, i + 1);
    else if (next === 125) return skipWhitespace(s, i + 1) === s.length;
    else return false;
  }
}

/** Validates an already-decoded JSON value (e.g. an HTTP body) by the same rules as parseEvent. */
export function validateEventValue(
  value: unknown,
  options: ParseOptions,
  context: ParseContext = new ParseContext(),
): ParseResult {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return reject(
      "not_an_object",
      `JSON ${value === null ? "null" : Array.isArray(value) ? "array" : typeof value}`,
    );
  }
  const obj = value as Record<string, unknown>;
  const raw = context.fields;
  raw.reset();
  // Own keys only: a polluted Object.prototype can never supply a value.
  const keys = Object.keys(obj);
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k] as string;
    raw.set(key, obj[key]);
  }
  return validateFields(context, options);
}

const ID_ABSENT = 0;
const ID_STRING = 1;
const ID_NUMBER = 2;
const ID_INVALID = 3;
const ID_TOO_LONG = 4;

/**
 * Ids and names: a non-empty string within the length limit, without control characters or lone surrogates;
 * or a non-negative safe integer JSON number, normalised to its decimal string (numeric advertiser ids are
 * common; "123" and 123 then name the same advertiser). Empty string and null mean absent.
 */
function idStatus(v: unknown, max: number, printableAscii: boolean): number {
  if (v === undefined || v === null || v === "") return ID_ABSENT;
  if (typeof v === "string") {
    if (v.length > max) return ID_TOO_LONG;
    return !printableAscii && hasBadIdChars(v) ? ID_INVALID : ID_STRING;
  }
  if (typeof v === "number") return Number.isSafeInteger(v) && v >= 0 ? ID_NUMBER : ID_INVALID;
  return ID_INVALID;
}

function idValue(v: unknown, status: number): string | null {
  if (status === ID_STRING) return v as string;
  if (status === ID_NUMBER) return String(v);
  return null;
}

function isNegativeInput(v: unknown): boolean {
  return typeof v === "number" ? v < 0 : typeof v === "string" && v.charCodeAt(0) === 45;
}

function add<T>(list: T[] | null, code: T): T[] {
  if (list === null) return [code];
  if (!list.includes(code)) list.push(code);
  return list;
}

/**
 * A time_zone value as stored: the name as given when it is a valid IANA name (links such as Asia/Kolkata stay
 * as written; ICU would answer Asia/Calcutta), with the zone's own capitalisation when it differs only in case;
 * null when it is not a zone.
 */
function timeZoneName(value: unknown): string | null {
  if (typeof value !== "string" || value.length === 0 || value.length > 64) return null;
  try {
    const canonical = canonicalTimeZone(value);
    return canonical.toLowerCase() === value.toLowerCase() ? canonical : value;
  } catch {
    return null;
  }
}

function validateFields(context: ParseContext, options: ParseOptions): ParsedEvent {
  const raw = context.fields;
  const referenceTimeMs = options.referenceTimeMs;
  if (!Number.isFinite(referenceTimeMs)) {
    throw new CoreError(
      "invalid_options",
      `referenceTimeMs must be a finite epoch-ms number: ${referenceTimeMs}`,
    );
  }
  const rawType = raw.eventType;
  const rawClickId = raw.clickId;
  const rawAdvertiser = raw.advertiser;
  const rawAdvertiserId = raw.advertiserId;
  const rawAdId = raw.adId;
  const rawAmount = raw.amount;
  const rawBudget = raw.budget;
  const rawTimestamp = raw.timestamp;
  const rawBudgetSource = raw.budgetSource;
  const rawBudgetMode = raw.budgetMode;
  const rawReservationId = raw.reservationId;
  const rawBudgetPeriod = raw.budgetPeriod;
  const rawTimeZone = raw.timeZone;
  const rawPacing = raw.pacing;
  const unknownFields = raw.unknownFields;
  const ascii = raw.printableAscii;

  let errors: ErrorCode[] | null = null;
  let warnings: WarningCode[] | null = null;

  let eventType: EventType | null = null;
  if (rawType === undefined || rawType === null || rawType === "") errors = add(errors, "event_type_missing");
  else if (rawType === "ad_click" || rawType === "budget_update") eventType = rawType;
  else errors = add(errors, "unknown_event_type");

  const clickStatus = idStatus(rawClickId, FIELD_MAX_LENGTH.click_id, ascii);
  const clickId = idValue(rawClickId, clickStatus);
  if (clickStatus === ID_ABSENT) {
    if (eventType === "ad_click") errors = add(errors, "click_id_missing");
  } else if (clickStatus === ID_INVALID) errors = add(errors, "click_id_invalid");
  else if (clickStatus === ID_TOO_LONG) errors = add(errors, "field_too_long");

  // Read on clicks only (like amount): the reservation the click settles; absent or null: its click_id's.
  let reservationId: string | null = null;
  if (eventType === "ad_click" && rawReservationId !== undefined && rawReservationId !== null) {
    const reservationStatus = idStatus(rawReservationId, FIELD_MAX_LENGTH.reservation_id, ascii);
    reservationId = idValue(rawReservationId, reservationStatus);
    if (reservationStatus === ID_INVALID) errors = add(errors, "field_invalid");
    else if (reservationStatus === ID_TOO_LONG) errors = add(errors, "field_too_long");
  }

  const advertiserStatus = idStatus(rawAdvertiser, FIELD_MAX_LENGTH.advertiser, ascii);
  const advertiser = idValue(rawAdvertiser, advertiserStatus);
  if (advertiserStatus === ID_INVALID) errors = add(errors, "field_invalid");
  else if (advertiserStatus === ID_TOO_LONG) errors = add(errors, "field_too_long");

  const advertiserIdStatus = idStatus(rawAdvertiserId, FIELD_MAX_LENGTH.advertiser_id, ascii);
  let advertiserId = idValue(rawAdvertiserId, advertiserIdStatus);
  if (advertiserIdStatus === ID_ABSENT) {
    if (advertiser !== null) {
      // The seed's example has only `advertiser`: it is the budget key then, within the id length limit.
      if (advertiser.length > FIELD_MAX_LENGTH.advertiser_id) errors = add(errors, "field_too_long");
      else {
        advertiserId = advertiser;
        warnings = add(warnings, "advertiser_id_defaulted");
      }
    } else if (advertiserStatus === ID_ABSENT) errors = add(errors, "advertiser_missing");
  } else if (advertiserIdStatus === ID_INVALID) errors = add(errors, "field_invalid");
  else if (advertiserIdStatus === ID_TOO_LONG) errors = add(errors, "field_too_long");

  const adIdStatus = idStatus(rawAdId, FIELD_MAX_LENGTH.ad_id, ascii);
  const adId = idValue(rawAdId, adIdStatus);
  if (adIdStatus === ID_INVALID) errors = add(errors, "field_invalid");
  else if (adIdStatus === ID_TOO_LONG) errors = add(errors, "field_too_long");

  let amountMicros: number | null = null;
  if (eventType === "ad_click") {
    if (rawAmount === undefined || rawAmount === null) errors = add(errors, "amount_missing");
    else {
      const money = parseMoneyToMicros(rawAmount);
      if (money.ok) {
        if (money.micros <= 0) errors = add(errors, "amount_not_positive");
        else if (money.micros > (options.maxAmountMicros ?? DEFAULT_PARSE_OPTIONS.maxAmountMicros)) {
          errors = add(errors, "amount_too_large");
        } else amountMicros = money.micros;
      } else if (money.code === "not_numeric") errors = add(errors, "amount_not_numeric");
      else if (money.code === "too_precise") errors = add(errors, "amount_too_precise");
      else errors = add(errors, isNegativeInput(rawAmount) ? "amount_not_positive" : "amount_too_large");
    }
  } else if (eventType === null && rawAmount !== undefined && rawAmount !== null) {
    // Unknown type: no rules apply, but keep a readable amount for Bronze/Silver columns.
    const money = parseMoneyToMicros(rawAmount);
    if (money.ok) amountMicros = money.micros;
  }

  let budgetMicros: number | null = null;
  if (rawBudget === undefined || rawBudget === null) {
    if (eventType === "budget_update") errors = add(errors, "budget_missing");
  } else {
    const money = parseMoneyToMicros(rawBudget);
    if (eventType === null) {
      if (money.ok) budgetMicros = money.micros;
    } else if (money.ok) {
      if (money.micros < 0) errors = add(errors, "budget_negative");
      else if (money.micros > (options.maxBudgetMicros ?? DEFAULT_PARSE_OPTIONS.maxBudgetMicros)) {
        errors = add(errors, "budget_too_large");
      } else budgetMicros = money.micros;
    } else if (money.code === "not_numeric") errors = add(errors, "budget_not_numeric");
    else if (money.code === "too_precise") errors = add(errors, "budget_too_precise");
    else errors = add(errors, isNegativeInput(rawBudget) ? "budget_negative" : "budget_too_large");
  }

  // Read on budget_update only (ignored on clicks, like amount on budget_update): who issued the update.
  let budgetSource: BudgetSource | null = null;
  if (eventType === "budget_update") {
    if (rawBudgetSource === undefined || rawBudgetSource === null || rawBudgetSource === "budget_update") {
      budgetSource = "budget_update";
    } else if (rawBudgetSource === "api") budgetSource = "api";
    else errors = add(errors, "field_invalid");
  } else if (eventType === "ad_click") budgetSource = "click";
  if (budgetMicros === null) budgetSource = null;

  // Read on budget_update only, like budget_source; absent or null leaves the mode in force unchanged.
  let budgetMode: BudgetMode | undefined;
  if (eventType === "budget_update" && rawBudgetMode !== undefined && rawBudgetMode !== null) {
    if (rawBudgetMode === "observe" || rawBudgetMode === "hard_cap") budgetMode = rawBudgetMode;
    else errors = add(errors, "field_invalid");
  }
  // Pacing likewise: read on budget_update only; absent or null leaves the pacing in force unchanged.
  let pacing: PacingMode | undefined;
  if (eventType === "budget_update" && rawPacing !== undefined && rawPacing !== null) {
    if (rawPacing === "asap" || rawPacing === "even" || rawPacing === "shaped") pacing = rawPacing;
    else errors = add(errors, "field_invalid");
  }

  // Read on budget_update only, like budget_mode: the advertiser's own calendar (clickPeriodOf).
  let budgetPeriod: BudgetPeriod | undefined;
  let timeZone: string | undefined;
  if (eventType === "budget_update") {
    if (rawBudgetPeriod !== undefined && rawBudgetPeriod !== null) {
      if (
        typeof rawBudgetPeriod === "string" &&
        (BUDGET_PERIODS as readonly string[]).includes(rawBudgetPeriod)
      )
        budgetPeriod = rawBudgetPeriod as BudgetPeriod;
      else errors = add(errors, "budget_period_invalid");
    }
    if (rawTimeZone !== undefined && rawTimeZone !== null) {
      timeZone = timeZoneName(rawTimeZone) ?? undefined;
      if (timeZone === undefined) errors = add(errors, "time_zone_invalid");
    }
  }

  let eventTimeMs: number | null = null;
  if (rawTimestamp === undefined || rawTimestamp === null || rawTimestamp === "") {
    errors = add(errors, "timestamp_missing");
  } else {
    if (typeof rawTimestamp === "string") {
      const reading = context.timestamp;
      if (readIsoTimestamp(rawTimestamp, reading)) {
        eventTimeMs = reading.ms;
        if (reading.naive) warnings = add(warnings, "timestamp_naive_utc");
      }
    } else if (typeof rawTimestamp === "number" && isEpochMs(rawTimestamp)) {
      eventTimeMs = rawTimestamp;
    }
    if (eventTimeMs === null) errors = add(errors, "timestamp_invalid");
    else if (
      eventTimeMs >
      referenceTimeMs + (options.maxFutureSkewMs ?? DEFAULT_PARSE_OPTIONS.maxFutureSkewMs)
    ) {
      errors = add(errors, "timestamp_in_future");
    } else if (
      eventTimeMs <
      referenceTimeMs - (options.latenessHorizonMs ?? DEFAULT_PARSE_OPTIONS.latenessHorizonMs)
    ) {
      errors = add(errors, "timestamp_too_late");
    }
  }

  if (unknownFields) warnings = add(warnings, "unknown_fields");

  return {
    ok: true,
    eventType,
    clickId,
    reservationId,
    advertiser,
    advertiserId,
    adId,
    amountMicros,
    budgetMicros,
    budgetSource,
    budgetMode,
    budgetPeriod,
    timeZone,
    ...(pacing === undefined ? {} : { pacing }),
    eventTimeMs,
    errors: errors ?? NO_CODES,
    warnings: warnings ?? NO_CODES,
    isValid: errors === null,
  };
}
