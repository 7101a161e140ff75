import { createQueryRegistry, type NamedQuery, type PreparedQuery } from "@adpipe/sql";
import { WarehouseError } from "./errors.js";

export type { NamedQuery } from "@adpipe/sql";

/** The warehouse's named statements: `sql/queries/<name>.sql`, one statement each (see @adpipe/sql). */
export const WAREHOUSE_QUERY_NAMES = [
  "billing_state",
  "bronze_copy",
  "bronze_count",
  "bronze_lineage_in_ranges",
  "bronze_page",
  "calendar_observations",
  "click_registry_claim",
  "drop_day_partitions_before",
  "ensure_day_partitions",
  "gold_finish_rebuild",
  "gold_calendar_epochs",
  "gold_freshness",
  "gold_hourly_spend_shape",
  "gold_reevaluate_serving",
  "gold_reevaluate_serving_calendars",
  "hourly_counts",
  "offset_reset_mark",
  "offset_reset_start",
  "offset_reset_unfinished",
  "offset_resets_recent",
  "offsets_lock",
  "period_click_ids",
  "period_click_ids_windows",
  "period_spend_by_advertiser",
  "period_spend_windows",
  "prune_click_registry",
  "reprocess_remove_silver",
  "silver_clean_copy",
  "silver_duplicate_copy",
  "stored_offsets",
  "topic_generation_lock",
  "topic_generation_read",
  "topic_offsets_lock",
  "topic_offsets_move",
  "topic_offsets_read",
  "topic_reset_detections_clear",
  "topic_reset_detections_list",
  "topic_reset_detections_record",
  "write_batch",
] as const;
export type WarehouseQueryName = (typeof WAREHOUSE_QUERY_NAMES)[number];

// sql/ sits at the package root, outside src/ and dist/, so both find it at ../sql.
const queries = createQueryRegistry(
  new URL("../sql/queries/", import.meta.url),
  WAREHOUSE_QUERY_NAMES,
  WarehouseError,
);

/** The named query `sql/queries/<name>.sql`, loaded and checked once. */
export function namedQuery(name: WarehouseQueryName): NamedQuery<WarehouseQueryName> {
  return queries.query(name);
}

/** Every query's name, each loaded and checked (and no file in sql/queries left out of the list). */
export function namedQueryNames(): WarehouseQueryName[] {
  return queries.checkAll().map((query) => query.name);
}

/** A pg QueryConfig for the named query: prepared as `adpipe_<name>`, so each connection parses it once. */
export function queryConfig(name: WarehouseQueryName, values: readonly unknown[]): PreparedQuery {
  return queries.prepared(name, values);
}
