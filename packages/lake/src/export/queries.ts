import { readFileSync } from "node:fs";
import { LakeError } from "../errors.js";

/**
 * Named queries of the export: one statement per file in the package's `sql/queries/<name>.sql` (not compiled,
 * so src/ and dist/ find it at the same relative URL), with a header naming it and listing its params:
 *
 *   -- name: export_streams
 *   -- params: $1 topics text[], ...   (or "none")
 */
const QUERIES = new URL("../../sql/queries/", import.meta.url);

export const QUERY_NAMES = [
  "export_streams",
  "export_bronze_page",
  "export_silver_page",
  "export_gold_fingerprints",
  "export_gold_page",
  "lake_offsets_read",
  "lake_offsets_record",
  "lake_table_record",
] as const;
export type QueryName = (typeof QUERY_NAMES)[number];

interface LoadedQuery {
  readonly text: string;
  readonly params: number;
}

const cache = new Map<QueryName, LoadedQuery>();

function load(name: QueryName): LoadedQuery {
  let text: string;
  try {
    text = readFileSync(new URL(`${name}.sql`, QUERIES), "utf8").replace(/\r\n/g, "\n");
  } catch (error) {
    throw new LakeError("invalid_config", `sql/queries/${name}.sql is missing`, { cause: error });
  }
  const header = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (!line.startsWith("--")) break;
    const match = /^--\s*([a-z_]+):\s*(.*?)\s*$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined && !header.has(match[1]))
      header.set(match[1], match[2]);
  }
  if (header.get("name") !== name || !header.has("params")) {
    throw new LakeError(
      "invalid_config",
      `sql/queries/${name}.sql: header "-- name: ${name}" / "-- params:" missing`,
    );
  }
  const body = text.replace(/--[^\n]*/g, "");
  const used = Math.max(0, ...[...body.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  const declared = new Set(header.get("params")?.match(/\$\d+/g) ?? []).size;
  if (used !== declared) {
    throw new LakeError(
      "invalid_config",
      `sql/queries/${name}.sql: declares ${declared} params, uses ${used}`,
    );
  }
  const trimmed = body.trim();
  if (trimmed.indexOf(";") !== trimmed.length - 1) {
    throw new LakeError("invalid_config", `sql/queries/${name}.sql: expected exactly one statement`);
  }
  return { text, params: used };
}

/** A pg query config for a named query, prepared under a stable name (parsed once per connection). */
export function lakeQuery(
  name: QueryName,
  values: readonly unknown[],
): { name: string; text: string; values: unknown[] } {
  let query = cache.get(name);
  if (query === undefined) {
    query = load(name);
    cache.set(name, query);
  }
  if (values.length !== query.params) {
    throw new LakeError("invalid_config", `query ${name} takes ${query.params} params, got ${values.length}`);
  }
  return { name: `adpipe_lake_${name}`, text: query.text, values: [...values] };
}
