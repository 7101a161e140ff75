import { createQueryRegistry, SqlError } from "@adpipe/sql";

/** The CLI's own named statements: `sql/<name>.sql`, one statement each (see @adpipe/sql). */
export const CLI_QUERY_NAMES = [
  "status_layer_counts",
  "status_layer_estimates",
  "status_stored_offsets",
] as const;

// sql/ sits at the package root, outside src/ and dist/, so both find it at ../sql.
export const cliQueries = createQueryRegistry(
  new URL("../sql/", import.meta.url),
  CLI_QUERY_NAMES,
  SqlError,
  {
    statementPrefix: "adpipe_cli_",
  },
);
