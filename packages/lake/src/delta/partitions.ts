import { LakeError } from "../errors.js";
import type { Column, Value } from "./schema.js";
import { formatDate, formatDecimal, formatTimestampIso } from "./values.js";

/** Partition values of one data file: column name → serialized value (null = SQL NULL). */
export type PartitionValues = Readonly<Record<string, string | null>>;

export const HIVE_DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__";

/**
 * A partition value in the Delta protocol's string form ("Partition Value Serialization").
 *
 * Timestamps are written as ISO-8601 adjusted to UTC (`2026-11-25T00:00:00.000000Z`), the form the protocol
 * recommends: unlike `YYYY-MM-DD HH:MM:SS`, which readers interpret in the writer's (unknown) time zone, it
 * means the same instant to every reader whatever its session time zone.
 */
export function serializePartitionValue(column: Column, value: Value): string | null {
  if (value === null) return null;
  switch (column.type.kind) {
    case "string":
      // The protocol reads "" as NULL; refuse rather than silently change a value.
      if (value === "")
        throw new LakeError("invalid_rows", `empty string in partition column ${column.name}`);
      return value as string;
    case "integer":
    case "long":
      return String(value);
    case "boolean":
      return value ? "true" : "false";
    case "date":
      return formatDate(value as number);
    case "timestamp":
      return formatTimestampIso(value as bigint);
    case "decimal":
      return formatDecimal(value as bigint, column.type.scale);
    default:
      throw new LakeError("invalid_config", `column ${column.name} cannot be a partition column`);
  }
}

// Hive/Spark's partition directory escaping: characters that cannot be in a path or make "k=v" ambiguous.
const ESCAPED = new Set(
  [..."\"#%'*/:=?\\{[]^"]
    .map((c) => c.charCodeAt(0))
    .concat(
      Array.from({ length: 32 }, (_, i) => i),
      [0x7f],
    ),
);

function escapePathValue(value: string): string {
  let out = "";
  for (const char of value) {
    const code = char.charCodeAt(0);
    out +=
      char.length === 1 && ESCAPED.has(code) ? `%${code.toString(16).toUpperCase().padStart(2, "0")}` : char;
  }
  return out;
}

/** The conventional directory of a partition: "ingest_year=2026/ingest_month=11/ingest_day=25". */
export function partitionDirectory(partitionColumns: readonly string[], values: PartitionValues): string {
  return partitionColumns
    .map((name) => {
      const value = values[name] ?? null;
      return `${name}=${value === null ? HIVE_DEFAULT_PARTITION : escapePathValue(value)}`;
    })
    .join("/");
}

/** A relative file path as the URI the log's `path` field holds (RFC 2396: the reader URI-decodes it). */
export function pathToUri(path: string): string {
  return path
    .split("/")
    .map((segment) => encodeURIComponent(segment).replace(/%3D/g, "="))
    .join("/");
}

/** The storage path of a log `path` URI (relative paths only: this writer never writes absolute ones). */
export function uriToPath(uri: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(uri)) {
    throw new LakeError("not_allowed", `absolute data file paths are not supported: ${uri}`);
  }
  return decodeURIComponent(uri);
}

/** A stable key for a set of partition values (grouping). */
export function partitionKey(partitionColumns: readonly string[], values: PartitionValues): string {
  return JSON.stringify(partitionColumns.map((name) => values[name] ?? null));
}
