import { WarehouseError } from "./errors.js";
import { headerFields, listSqlFiles, readSqlFile } from "./sql-files.js";

/**
 * A named query: one SQL statement per file in `sql/queries/<name>.sql`, whose header lists its params:
 *
 *   -- name: offsets_lock
 *   -- params: $1 pipeline text, $2 topic text, $3 partitions integer[]
 *
 * Queries run as named prepared statements (`adpipe_<name>`), parsed once per connection.
 */
export interface NamedQuery {
  readonly name: string;
  readonly text: string;
  readonly paramCount: number;
}

const cache = new Map<string, NamedQuery>();

/** Highest $N used by the statement (comment lines excluded). */
function countParams(text: string): number {
  let max = 0;
  for (const match of text.replace(/--[^\n]*/g, "").matchAll(/\$(\d+)/g))
    max = Math.max(max, Number(match[1]));
  return max;
}

function load(name: string): NamedQuery {
  const text = readSqlFile("queries", `${name}.sql`);
  const header = headerFields(text);
  if (header.get("name") !== name) {
    throw new WarehouseError("query_invalid", `sql/queries/${name}.sql: header "-- name: ${name}" missing`);
  }
  const params = header.get("params");
  if (params === undefined) {
    throw new WarehouseError("query_invalid", `sql/queries/${name}.sql: header "-- params:" missing`);
  }
  const declared = new Set(params.match(/\$\d+/g) ?? []).size;
  const paramCount = countParams(text);
  if (declared !== paramCount) {
    throw new WarehouseError(
      "query_invalid",
      `sql/queries/${name}.sql: header declares ${declared} params, statement uses ${paramCount}`,
    );
  }
  // One statement per file: nothing but whitespace/comments may follow the terminating semicolon.
  const body = text.replace(/--[^\n]*/g, "").trim();
  const semicolon = body.indexOf(";");
  if (semicolon !== -1 && semicolon !== body.length - 1) {
    throw new WarehouseError("query_invalid", `sql/queries/${name}.sql: more than one statement`);
  }
  return { name, text, paramCount };
}

/** The named query `sql/queries/<name>.sql`, loaded and checked once. */
export function namedQuery(name: string): NamedQuery {
  let query = cache.get(name);
  if (query === undefined) {
    query = load(name);
    cache.set(name, query);
  }
  return query;
}

/** Every query file's name (for tests that check all of them load). */
export function namedQueryNames(): string[] {
  return listSqlFiles("queries").map((file) => file.replace(/\.sql$/, ""));
}

/** A pg QueryConfig for the named query: prepared under a stable name so each connection parses it once. */
export function queryConfig(
  name: string,
  values: readonly unknown[],
): { name: string; text: string; values: unknown[] } {
  const query = namedQuery(name);
  if (values.length !== query.paramCount) {
    throw new WarehouseError(
      "query_invalid",
      `query ${name} takes ${query.paramCount} params, got ${values.length}`,
    );
  }
  return { name: `adpipe_${name}`, text: query.text, values: [...values] };
}
