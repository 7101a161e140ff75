/**
 * Postgres array literals (`{a,b,NULL}`) built directly from values, for the column arrays of the batch
 * statements. pg would turn a JS array into the same literal, but escapes every element with two regular
 * expressions and re-checks its type; at 37 columns x thousands of records per batch that was the largest
 * single cost of the ingestor's Node side (bench: `npm run bench -- warehouse`, docs/performance.md).
 *
 * Elements: null/undefined → NULL; numbers (integers) and booleans unquoted; strings always double-quoted
 * with `\` and `"` escaped (so "", "NULL", spaces, commas and braces stay strings); bytes as `\\x<hex>`,
 * which the array parser unescapes to the bytea hex input `\x<hex>`.
 */
export type PgArrayElement = string | number | boolean | Uint8Array | null | undefined;

const NEEDS_ESCAPE = /[\\"]/;
const ESCAPE = /[\\"]/g;

function quote(text: string): string {
  return NEEDS_ESCAPE.test(text) ? `"${text.replace(ESCAPE, "\\$&")}"` : `"${text}"`;
}

export function pgArrayElement(value: PgArrayElement): string {
  if (value === null || value === undefined) return "NULL";
  switch (typeof value) {
    case "string":
      return quote(value);
    case "number":
      if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${value}`);
      return String(value);
    case "boolean":
      return value ? "t" : "f";
    default: {
      const bytes = Buffer.isBuffer(value)
        ? value
        : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      return `\\\\x${bytes.toString("hex")}`;
    }
  }
}

/** The literal of a whole array. */
export function pgArray(values: readonly PgArrayElement[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) parts[i] = pgArrayElement(values[i]);
  return `{${parts.join(",")}}`;
}
