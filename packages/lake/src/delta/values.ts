import { LakeError } from "../errors.js";
import type { Column, ColumnType, Value } from "./schema.js";

const MICROS_PER_MS = 1_000n;

/** "YYYY-MM-DD" of a day number (days since 1970-01-01). */
export function formatDate(days: number): string {
  return new Date(days * 86_400_000).toISOString().slice(0, 10);
}

/** UTC date and time parts of a microsecond timestamp: ["YYYY-MM-DD", "HH:MM:SS", "ffffff"]. */
function timestampParts(micros: bigint): [string, string, string] {
  let ms = micros / MICROS_PER_MS;
  let rest = micros % MICROS_PER_MS;
  if (rest < 0n) {
    rest += MICROS_PER_MS;
    ms -= 1n;
  }
  const iso = new Date(Number(ms)).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return [iso.slice(0, 10), iso.slice(11, 19), `${iso.slice(20, 23)}${String(rest).padStart(3, "0")}`];
}

/** ISO-8601 UTC with six fraction digits: "2026-11-25T10:00:00.123456Z". */
export function formatTimestampIso(micros: bigint): string {
  const [date, time, fraction] = timestampParts(micros);
  return `${date}T${time}.${fraction}Z`;
}

/** ISO-8601 UTC truncated to milliseconds (Delta's per-file statistics format): "2026-11-25T10:00:00.123Z". */
export function formatTimestampMillis(micros: bigint): string {
  const [date, time, fraction] = timestampParts(micros);
  return `${date}T${time}.${fraction.slice(0, 3)}Z`;
}

/** Plain decimal text of an unscaled value: (1234567n, 6) → "1.234567". */
export function formatDecimal(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, "0");
  const text = scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/** Unscaled value of a decimal text ("-12.5", scale 6 → -12500000n); throws when it needs more digits. */
export function parseDecimal(text: string, scale: number): bigint {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (match === null) throw new LakeError("invalid_rows", `not a decimal: ${text}`);
  const fraction = match[3] ?? "";
  if (fraction.length > scale && /[1-9]/.test(fraction.slice(scale))) {
    throw new LakeError("invalid_rows", `${text} has more than ${scale} decimal places`);
  }
  const unscaled = BigInt(`${match[2]}${fraction.slice(0, scale).padEnd(scale, "0")}`);
  return match[1] === "-" ? -unscaled : unscaled;
}

/** Checks that a row value has the JavaScript type its column needs; returns a description of the problem or null. */
export function valueProblem(type: ColumnType, value: Value, nullable: boolean): string | null {
  if (value === null) return nullable ? null : "null in a non-nullable column";
  switch (type.kind) {
    case "string":
      return typeof value === "string" ? null : "expected a string";
    case "long":
      return typeof value === "bigint" && BigInt.asIntN(64, value) === value
        ? null
        : "expected a 64-bit bigint";
    case "timestamp":
      return typeof value === "bigint" && BigInt.asIntN(64, value) === value
        ? null
        : "expected bigint microseconds";
    case "integer":
      return Number.isInteger(value) &&
        (value as number) >= -2_147_483_648 &&
        (value as number) <= 2_147_483_647
        ? null
        : "expected a 32-bit integer";
    case "date":
      return Number.isInteger(value) ? null : "expected a day number";
    case "boolean":
      return typeof value === "boolean" ? null : "expected a boolean";
    case "binary":
      return value instanceof Uint8Array ? null : "expected a Uint8Array";
    case "decimal": {
      if (typeof value !== "bigint") return "expected a bigint (unscaled decimal)";
      const limit = 10n ** BigInt(type.precision);
      return value < limit && value > -limit ? null : `does not fit decimal(${type.precision},${type.scale})`;
    }
    case "array": {
      if (!Array.isArray(value)) return "expected an array";
      for (const element of value as readonly Value[]) {
        const problem = valueProblem(type.element, element, type.containsNull);
        if (problem !== null) return `element: ${problem}`;
      }
      return null;
    }
  }
}

export function checkRowValue(column: Column, value: Value | undefined): void {
  const problem = valueProblem(column.type, value === undefined ? null : value, column.nullable);
  if (problem !== null) throw new LakeError("invalid_rows", `column ${column.name}: ${problem}`);
}
