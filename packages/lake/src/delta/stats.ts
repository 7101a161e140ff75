import type { Column, Row, Value } from "./schema.js";
import { formatDate, formatDecimal, formatTimestampMillis } from "./values.js";

/** Strings longer than this get no min/max (a cut prefix would be a wrong max; Spark also uses 32). */
export const STRING_STATS_PREFIX = 32;

type Comparable = bigint | number | string;

/** A JSON value written verbatim (decimals: exact digits, no float rounding). */
class RawJson {
  constructor(readonly text: string) {}
}
type StatJson = RawJson | string | number;

function compareUtf8(a: string, b: string): number {
  // Spark and Delta order strings by their UTF-8 bytes, which differs from JS's UTF-16 order for some characters.
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

function compare(a: Comparable, b: Comparable): number {
  if (typeof a === "string" && typeof b === "string") return compareUtf8(a, b);
  return a < b ? -1 : a > b ? 1 : 0;
}

function render(value: StatJson): string {
  return value instanceof RawJson ? value.text : JSON.stringify(value);
}

function renderObject(entries: readonly (readonly [string, StatJson])[]): string {
  return `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${render(value)}`).join(",")}}`;
}

function statValue(column: Column, value: Comparable, bound: "min" | "max"): StatJson | null {
  switch (column.type.kind) {
    case "string":
      return (value as string).length <= STRING_STATS_PREFIX ? (value as string) : null;
    case "integer":
      return value as number;
    case "long":
      return new RawJson((value as bigint).toString());
    case "date":
      return formatDate(value as number);
    case "decimal":
      return new RawJson(formatDecimal(value as bigint, column.type.scale));
    case "timestamp": {
      // Statistics hold milliseconds: round the minimum down and the maximum up so the bounds stay bounds.
      const micros = value as bigint;
      const ms = micros - (((micros % 1000n) + 1000n) % 1000n);
      return formatTimestampMillis(bound === "min" || ms === micros ? ms : ms + 1000n);
    }
    default:
      return null;
  }
}

/**
 * The `stats` JSON of an add action: numRecords, and per data column (partition columns excluded, as Spark
 * does) nullCount, minValues and maxValues. Arrays and binaries get a nullCount only; strings longer than 32
 * characters and booleans no bounds. Timestamps are widened to whole milliseconds.
 */
export function fileStats(
  columns: readonly Column[],
  partitionColumns: readonly string[],
  rows: readonly Row[],
): string {
  const partition = new Set(partitionColumns);
  const nullCounts: [string, StatJson][] = [];
  const mins: [string, StatJson][] = [];
  const maxes: [string, StatJson][] = [];
  for (const column of columns) {
    if (partition.has(column.name)) continue;
    let nulls = 0;
    let min: Comparable | undefined;
    let max: Comparable | undefined;
    const bounded = !["array", "binary", "boolean"].includes(column.type.kind);
    for (const row of rows) {
      const value: Value | undefined = row[column.name];
      if (value === null || value === undefined) {
        nulls++;
        continue;
      }
      if (!bounded) continue;
      const v = value as Comparable;
      if (min === undefined || compare(v, min) < 0) min = v;
      if (max === undefined || compare(v, max) > 0) max = v;
    }
    nullCounts.push([column.name, nulls]);
    if (min !== undefined && max !== undefined) {
      const low = statValue(column, min, "min");
      const high = statValue(column, max, "max");
      if (low !== null) mins.push([column.name, low]);
      if (high !== null) maxes.push([column.name, high]);
    }
  }
  return renderObject([
    ["numRecords", rows.length],
    ["minValues", new RawJson(renderObject(mins))],
    ["maxValues", new RawJson(renderObject(maxes))],
    ["nullCount", new RawJson(renderObject(nullCounts))],
  ]);
}
