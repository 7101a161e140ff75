import { LakeError } from "../errors.js";

/**
 * Column types a lake table can hold, and the JavaScript value each one takes in a row (null = SQL NULL):
 *
 * | type        | Delta type          | Parquet                                   | row value                       |
 * | ----------- | ------------------- | ----------------------------------------- | ------------------------------- |
 * | string      | string              | BYTE_ARRAY (UTF8)                         | string                          |
 * | long        | long                | INT64                                     | bigint                          |
 * | integer     | integer             | INT32                                     | number (32-bit)                 |
 * | boolean     | boolean             | BOOLEAN                                   | boolean                         |
 * | binary      | binary              | BYTE_ARRAY                                | Uint8Array                      |
 * | date        | date                | INT32 (DATE)                              | number: days since 1970-01-01   |
 * | timestamp   | timestamp           | INT64 TIMESTAMP(MICROS, adjustedToUTC)    | bigint: microseconds since epoch|
 * | decimal p,s | decimal(p,s)        | FIXED_LEN_BYTE_ARRAY (DECIMAL)            | bigint: unscaled (value × 10^s) |
 * | array<e>    | array<e>            | LIST (3-level)                            | array of e's values             |
 */
export type ColumnType =
  | { readonly kind: "string" }
  | { readonly kind: "long" }
  | { readonly kind: "integer" }
  | { readonly kind: "boolean" }
  | { readonly kind: "binary" }
  | { readonly kind: "date" }
  | { readonly kind: "timestamp" }
  | { readonly kind: "decimal"; readonly precision: number; readonly scale: number }
  | { readonly kind: "array"; readonly element: ColumnType; readonly containsNull: boolean };

export type Value = string | bigint | number | boolean | Uint8Array | null | readonly Value[];
export type Row = Readonly<Record<string, Value>>;

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
  /** Shown in the Delta schema's column metadata as "comment" (Spark displays it). */
  readonly comment?: string;
}

export const types = {
  string: (): ColumnType => ({ kind: "string" }),
  long: (): ColumnType => ({ kind: "long" }),
  integer: (): ColumnType => ({ kind: "integer" }),
  boolean: (): ColumnType => ({ kind: "boolean" }),
  binary: (): ColumnType => ({ kind: "binary" }),
  date: (): ColumnType => ({ kind: "date" }),
  timestamp: (): ColumnType => ({ kind: "timestamp" }),
  decimal: (precision: number, scale: number): ColumnType => {
    if (!Number.isInteger(precision) || precision < 1 || precision > 38 || scale < 0 || scale > precision) {
      throw new LakeError("invalid_config", `invalid decimal(${precision},${scale})`);
    }
    return { kind: "decimal", precision, scale };
  },
  array: (element: ColumnType, containsNull = true): ColumnType => ({ kind: "array", element, containsNull }),
} as const;

/** The Delta/Spark name of a type ("decimal(20,6)", "array<string>"). */
export function typeName(type: ColumnType): string {
  switch (type.kind) {
    case "decimal":
      return `decimal(${type.precision},${type.scale})`;
    case "array":
      return `array<${typeName(type.element)}>`;
    default:
      return type.kind;
  }
}

type SchemaJson = string | { type: string; [key: string]: unknown };

function typeJson(type: ColumnType): SchemaJson {
  if (type.kind === "array") {
    return { type: "array", elementType: typeJson(type.element), containsNull: type.containsNull };
  }
  return typeName(type);
}

// Characters Delta refuses in column names unless column mapping is enabled.
const INVALID_NAME = /[ ,;{}()\n\t=]/;

/** Checks names (unique regardless of case, no characters Delta forbids) and partition columns. */
export function validateColumns(columns: readonly Column[], partitionColumns: readonly string[]): void {
  const seen = new Set<string>();
  for (const column of columns) {
    if (column.name === "" || INVALID_NAME.test(column.name)) {
      throw new LakeError("invalid_config", `invalid column name ${JSON.stringify(column.name)}`);
    }
    const lower = column.name.toLowerCase();
    if (seen.has(lower)) throw new LakeError("invalid_config", `duplicate column ${column.name}`);
    seen.add(lower);
  }
  for (const name of partitionColumns) {
    const column = columns.find((c) => c.name === name);
    if (column === undefined)
      throw new LakeError("invalid_config", `partition column ${name} is not a column`);
    if (column.type.kind === "array" || column.type.kind === "binary") {
      throw new LakeError("invalid_config", `partition column ${name} must have a primitive type`);
    }
  }
}

/** The metaData.schemaString of a table: Spark's JSON schema representation. */
export function schemaString(columns: readonly Column[]): string {
  return JSON.stringify({
    type: "struct",
    fields: columns.map((column) => ({
      name: column.name,
      type: typeJson(column.type),
      nullable: column.nullable,
      metadata: column.comment === undefined ? {} : { comment: column.comment },
    })),
  });
}

function parseType(json: unknown): ColumnType | null {
  if (typeof json === "string") {
    const decimal = /^decimal\((\d+),\s*(\d+)\)$/.exec(json);
    if (decimal) return { kind: "decimal", precision: Number(decimal[1]), scale: Number(decimal[2]) };
    const known = ["string", "long", "integer", "boolean", "binary", "date", "timestamp"] as const;
    const kind = known.find((k) => k === json);
    return kind === undefined ? null : ({ kind } as ColumnType);
  }
  if (typeof json === "object" && json !== null && (json as { type?: unknown }).type === "array") {
    const array = json as { elementType?: unknown; containsNull?: unknown };
    const element = parseType(array.elementType);
    return element === null ? null : { kind: "array", element, containsNull: array.containsNull !== false };
  }
  return null;
}

/**
 * Columns of a schemaString, or null when it uses a type this writer does not produce (the table was changed by
 * another engine; appending to it would need schema evolution, which is not implemented).
 */
export function parseSchemaString(text: string): Column[] | null {
  const json = JSON.parse(text) as { type?: unknown; fields?: unknown };
  if (json.type !== "struct" || !Array.isArray(json.fields)) return null;
  const columns: Column[] = [];
  for (const field of json.fields as { name?: unknown; type?: unknown; nullable?: unknown }[]) {
    const type = parseType(field.type);
    if (type === null || typeof field.name !== "string") return null;
    columns.push({ name: field.name, type, nullable: field.nullable !== false });
  }
  return columns;
}

/** True when two schemas have the same names, types and nullability in the same order (comments ignored). */
export function sameColumns(a: readonly Column[], b: readonly Column[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (column, i) =>
        column.name === b[i]?.name &&
        typeName(column.type) === typeName(b[i].type) &&
        column.nullable === b[i].nullable,
    )
  );
}
