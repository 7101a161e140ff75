import { createQueryRegistry, SqlError } from "@adpipe/sql";
import { REPORTS } from "./reports/definitions.js";
import { reportQueries, reportQueryName } from "./reports/report-query.js";

/** Statements read from `sql/queries/<name>.sql` (see @adpipe/sql); the reports' are built from their definitions. */
export const API_QUERY_FILES = [
  "advertisers_list",
  "alert_thresholds_get",
  "alert_thresholds_put",
  "alerts_list",
  "audit_insert",
  "audit_list",
  "ping",
  "topic_resets",
] as const;

// sql/ sits at the package root, outside src/ and dist/, so both find it at ../sql.
export const apiQueries = createQueryRegistry(
  new URL("../sql/queries/", import.meta.url),
  [...API_QUERY_FILES, ...REPORTS.map(reportQueryName)],
  SqlError,
  { statementPrefix: "adpipe_api_", built: reportQueries() },
);
