import { createQueryRegistry, type PreparedQuery } from "@adpipe/sql";
import { AlertsError } from "./errors.js";

/** The alerts' named statements: `sql/queries/<name>.sql`, one statement each (see @adpipe/sql). */
export const ALERTS_QUERY_NAMES = [
  "alert_thresholds_read",
  "alerts_fire",
  "exhausted_early_spend",
  "outbox_claim",
  "outbox_delivered",
  "outbox_failed",
  "outbox_status",
] as const;
export type AlertsQueryName = (typeof ALERTS_QUERY_NAMES)[number];

// sql/ sits at the package root, outside src/ and dist/, so both find it at ../sql.
const queries = createQueryRegistry(
  new URL("../sql/queries/", import.meta.url),
  ALERTS_QUERY_NAMES,
  AlertsError,
  {
    statementPrefix: "adpipe_alerts_",
  },
);

/** A pg QueryConfig for the named query, prepared once per connection. */
export function queryConfig(name: AlertsQueryName, values: readonly unknown[]): PreparedQuery {
  return queries.prepared(name, values);
}

/** Every query, loaded and checked (and no file in sql/queries left out of the list). */
export function checkAlertsQueries(): AlertsQueryName[] {
  return queries.checkAll().map((query) => query.name);
}
