import { createQueryRegistry, type PreparedQuery } from "@adpipe/sql";
import { LakeError } from "../errors.js";

/** The export's named statements: `sql/queries/<name>.sql`, one statement each (see @adpipe/sql). */
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

// sql/ sits at the package root, outside src/ and dist/, so both find it at the same relative URL.
export const lakeQueries = createQueryRegistry(
  new URL("../../sql/queries/", import.meta.url),
  QUERY_NAMES,
  LakeError,
  { statementPrefix: "adpipe_lake_" },
);

/** A pg query config for a named query, prepared under a stable name (parsed once per connection). */
export function lakeQuery(name: QueryName, values: readonly unknown[]): PreparedQuery {
  return lakeQueries.prepared(name, values);
}
