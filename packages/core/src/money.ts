import { CoreError } from "./errors.js";

/**
 * Money is integer micro-units (1 unit = 1_000_000 micros) in a JS number, exact while it is a safe integer.
 * Conversions go through decimal strings, never through float multiplication: a JSON number is read from its
 * shortest round-trip representation (String(n)), so 0.1 is exactly 100_000 micros.
 */
export const MICROS_PER_UNIT = 1_000_000;
export const MICRO_DECIMALS = 6;

export type MoneyParseFailure = "not_numeric" | "too_precise" | "out_of_range";
export type MoneyParseResult = { ok: true; micros: number } | { ok: false; code: MoneyParseFailure };

/** Longer strings are not money (no legitimate amount needs this many characters). */
export const MAX_MONEY_STRING_LENGTH = 64;

const NOT_NUMERIC: MoneyParseResult = Object.freeze({ ok: false, code: "not_numeric" });
const TOO_PRECISE: MoneyParseResult = Object.freeze({ ok: false, code: "too_precise" });
const OUT_OF_RANGE: MoneyParseResult = Object.freeze({ ok: false, code: "out_of_range" });

const CH_0 = 48;
const CH_9 = 57;
const CH_DOT = 46;
const CH_MINUS = 45;
const CH_PLUS = 43;
const CH_E = 101;
const CH_UPPER_E = 69;

const FAST_PATH_LIMIT = 2 ** 32;

/** More integer digits than this cannot be a safe integer of micros (2^53 has 16 digits). */
const MAX_SAFE_DIGITS = 16;

/**
 * Converts a JSON number, a numeric string or a bigint to exact micros, rounding half-to-even at the 6th decimal.
 * Accepted strings: optional sign, digits with an optional fraction (".5" and "5." too), optional exponent.
 * No whitespace, no hex, no NaN/Infinity text. A non-zero value that rounds to 0 micros is `too_precise`;
 * |micros| > Number.MAX_SAFE_INTEGER (and the number ±Infinity, JSON's 1e309) is `out_of_range`. "-0" is 0.
 */
export function parseMoneyToMicros(value: unknown): MoneyParseResult {
  return parseMoney(value, false);
}

/**
 * Like parseMoneyToMicros, but an amount that is not a whole number of micros ("10.1234567", 1e-7) is
 * `too_precise` instead of being rounded: for amounts a person types (budgets through the API), where a
 * silently rounded value would be a different value than the one asked for. "10.1234560" is exact.
 */
export function parseExactMoneyToMicros(value: unknown): MoneyParseResult {
  return parseMoney(value, true);
}

function parseMoney(value: unknown, exact: boolean): MoneyParseResult {
  if (typeof value === "number") {
    // ±Infinity is what JSON.parse makes of a literal too large for a double (1e309): out of range, not text.
    if (!Number.isFinite(value)) return Number.isNaN(value) ? NOT_NUMERIC : OUT_OF_RANGE;
    if (Number.isInteger(value)) {
      // Integers need no decimal expansion: exact as long as the product stays safe.
      if (Math.abs(value) > Number.MAX_SAFE_INTEGER / MICROS_PER_UNIT) return OUT_OF_RANGE;
      return { ok: true, micros: value * MICROS_PER_UNIT + 0 };
    }
    if (Math.abs(value) < FAST_PATH_LIMIT) {
      // Fast path, exact: guess m, then prove it. Below 2^32 the doubles are closer than 1e-6, so at most one
      // 6-decimal value rounds to a given double; if m/1e6 (a correctly rounded division) gives back `value`,
      // that value's shortest round-trip decimal String(value) is m·1e-6 exactly. Otherwise: the slow path.
      const guess = Math.round(value * MICROS_PER_UNIT);
      if (guess / MICROS_PER_UNIT === value)
        return guess === 0 ? TOO_PRECISE : { ok: true, micros: guess + 0 };
    }
    return parseDecimalString(String(value), exact);
  }
  if (typeof value === "string") {
    if (value.length === 0 || value.length > MAX_MONEY_STRING_LENGTH) return NOT_NUMERIC;
    return parseDecimalString(value, exact);
  }
  if (typeof value === "bigint") {
    const micros = value * BigInt(MICROS_PER_UNIT);
    if (micros > BigInt(Number.MAX_SAFE_INTEGER) || micros < BigInt(-Number.MAX_SAFE_INTEGER))
      return OUT_OF_RANGE;
    return { ok: true, micros: Number(micros) };
  }
  return NOT_NUMERIC;
}

function parseDecimalString(s: string, exact: boolean): MoneyParseResult {
  const fast = plainDecimalToMicros(s);
  if (fast !== NOT_PLAIN) return { ok: true, micros: fast };
  return parseGeneralDecimal(s, exact);
}

const NOT_PLAIN = -1;

/**
 * Micros of a plain decimal ("12", "-0.5", "3.140000") with at most 6 decimals and 15 digits, computed with
 * exact integer arithmetic; NOT_PLAIN for anything else (exponents, more decimals, invalid text), which the
 * general path then decides.
 */
function plainDecimalToMicros(s: string): number {
  const n = s.length;
  let i = 0;
  let negative = false;
  const first = s.charCodeAt(0);
  if (first === CH_MINUS || first === CH_PLUS) {
    negative = first === CH_MINUS;
    i = 1;
  }
  let acc = 0;
  let digits = 0;
  let fraction = -1;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= CH_0 && c <= CH_9) {
      acc = acc * 10 + (c - CH_0);
      digits++;
      if (fraction >= 0) fraction++;
    } else if (c === CH_DOT && fraction < 0) {
      fraction = 0;
    } else return NOT_PLAIN;
  }
  if (digits === 0 || digits > 15 || fraction > MICRO_DECIMALS) return NOT_PLAIN;
  const micros = acc * 10 ** (MICRO_DECIMALS - Math.max(fraction, 0));
  if (!Number.isSafeInteger(micros)) return NOT_PLAIN;
  if (micros === 0) return 0;
  return negative ? -micros : micros;
}

function parseGeneralDecimal(s: string, exact: boolean): MoneyParseResult {
  const n = s.length;
  let i = 0;
  let negative = false;
  let c = s.charCodeAt(0);
  if (c === CH_MINUS || c === CH_PLUS) {
    negative = c === CH_MINUS;
    i = 1;
  }
  // Mantissa digits without the dot; `pointPos` = how many of them stand before the decimal point.
  let digits = "";
  let sawDigit = false;
  let pointPos = -1;
  let start = i;
  for (; i < n; i++) {
    c = s.charCodeAt(i);
    if (c >= CH_0 && c <= CH_9) {
      sawDigit = true;
    } else if (c === CH_DOT && pointPos < 0) {
      digits += s.slice(start, i);
      pointPos = digits.length;
      start = i + 1;
    } else {
      break;
    }
  }
  digits += s.slice(start, i);
  if (!sawDigit) return NOT_NUMERIC;
  if (pointPos < 0) pointPos = digits.length;

  let exponent = 0;
  if (i < n) {
    c = s.charCodeAt(i);
    if (c !== CH_E && c !== CH_UPPER_E) return NOT_NUMERIC;
    i++;
    let expNegative = false;
    c = s.charCodeAt(i);
    if (c === CH_MINUS || c === CH_PLUS) {
      expNegative = c === CH_MINUS;
      i++;
    }
    if (i >= n) return NOT_NUMERIC;
    for (; i < n; i++) {
      c = s.charCodeAt(i);
      if (c < CH_0 || c > CH_9) return NOT_NUMERIC;
      // Saturate: anything beyond ±1e6 is out of range or rounds to zero either way.
      if (exponent < 1_000_000) exponent = exponent * 10 + (c - CH_0);
    }
    if (expNegative) exponent = -exponent;
  }
  return digitsToMicros(digits, pointPos + exponent, negative, exact);
}

/**
 * value = 0.<digits> × 10^pointPos (digits as a decimal integer string, point after `pointPos` digits).
 * `exact`: non-zero digits below the micro are `too_precise` instead of rounded.
 */
function digitsToMicros(
  rawDigits: string,
  pointPos: number,
  negative: boolean,
  exact: boolean,
): MoneyParseResult {
  // Strip leading zeros (they move nothing: the point position counts from the left).
  let lead = 0;
  while (lead < rawDigits.length && rawDigits.charCodeAt(lead) === CH_0) lead++;
  if (lead === rawDigits.length) return { ok: true, micros: 0 };
  const digits = rawDigits.slice(lead);
  const point = pointPos - lead;
  // Number of mantissa digits that land at or above the micro position.
  const keep = point + MICRO_DECIMALS;
  let micros: number;
  if (keep >= digits.length) {
    if (keep > MAX_SAFE_DIGITS) return OUT_OF_RANGE;
    // Exact: a product of exact integers is exact when the true result is safe, and any true result above
    // MAX_SAFE_INTEGER rounds to 2^53 or more, so the safe-integer check cannot be fooled.
    micros = Number(digits) * 10 ** (keep - digits.length);
    if (!Number.isSafeInteger(micros)) return OUT_OF_RANGE;
  } else {
    if (keep > MAX_SAFE_DIGITS) return OUT_OF_RANGE;
    const kept = keep > 0 ? Number(digits.slice(0, keep)) : 0;
    // The digits from `keep` on are below the micro: an exact amount has only zeros there.
    if (exact && hasNonZeroFrom(digits, Math.max(keep, 0)))
      return Number.isSafeInteger(kept) ? TOO_PRECISE : OUT_OF_RANGE;
    const roundUp = roundsUp(digits, keep, kept);
    micros = kept + (roundUp ? 1 : 0);
    if (!Number.isSafeInteger(micros)) return OUT_OF_RANGE;
    if (micros === 0) return TOO_PRECISE;
  }
  return { ok: true, micros: negative ? -micros : micros };
}

function hasNonZeroFrom(digits: string, from: number): boolean {
  for (let j = from; j < digits.length; j++) if (digits.charCodeAt(j) !== CH_0) return true;
  return false;
}

/** Half-to-even on the digits dropped after position `keep` (keep may be ≤ 0: everything is dropped). */
function roundsUp(digits: string, keep: number, kept: number): boolean {
  if (keep < 0) return false; // below a tenth of a micro
  const first = digits.charCodeAt(keep) - CH_0;
  if (first > 5) return true;
  if (first < 5) return false;
  for (let j = keep + 1; j < digits.length; j++) {
    if (digits.charCodeAt(j) !== CH_0) return true;
  }
  return kept % 2 === 1;
}

function assertSafeMicros(micros: number, what: string): void {
  if (!Number.isSafeInteger(micros)) {
    throw new CoreError("unsafe_integer", `${what} is not a safe integer of micros: ${String(micros)}`);
  }
}

/** Exact sum; throws CoreError("unsafe_integer") when an operand or the result leaves the safe range. */
export function addMicros(a: number, b: number): number {
  assertSafeMicros(a, "left operand");
  assertSafeMicros(b, "right operand");
  const sum = a + b;
  assertSafeMicros(sum, "sum");
  return sum;
}

/** Exact difference, same checks as addMicros. */
export function subtractMicros(a: number, b: number): number {
  return addMicros(a, -b);
}

/** Fixed six decimals, the text form of NUMERIC(20,6): 500000 → "0.500000", -1 → "-0.000001". */
export function formatMicros(micros: number): string {
  assertSafeMicros(micros, "amount");
  const negative = micros < 0;
  const abs = negative ? -micros : micros;
  const units = Math.floor(abs / MICROS_PER_UNIT);
  const frac = abs - units * MICROS_PER_UNIT;
  const fracText = String(frac).padStart(MICRO_DECIMALS, "0");
  return `${negative ? "-" : ""}${units}.${fracText}`;
}

/** Shortest decimal text without trailing zeros: 500000 → "0.5", 1_000_000_000 → "1000", -250000 → "-0.25". */
export function microsToNumberString(micros: number): string {
  const fixed = formatMicros(micros);
  let end = fixed.length;
  while (fixed.charCodeAt(end - 1) === CH_0) end--;
  if (fixed.charCodeAt(end - 1) === CH_DOT) end--;
  return fixed.slice(0, end);
}

/** Micros of a whole number of units, checked. */
export function unitsToMicros(units: number): number {
  const micros = units * MICROS_PER_UNIT;
  if (!Number.isInteger(units)) throw new CoreError("invalid_money", `not a whole number of units: ${units}`);
  assertSafeMicros(micros, "amount");
  return micros;
}
