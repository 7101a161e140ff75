import { type Column, type ColumnType, type Row, types, type Value } from "../delta/schema.js";
import { parseDecimal } from "../delta/values.js";
import { LakeError } from "../errors.js";
import type { TableSpec } from "../lake.js";
import type { QueryName } from "./queries.js";

export const EXPORT_TABLE_KEYS = ["bronze", "silver", "gold"] as const;
export type ExportTableKey = (typeof EXPORT_TABLE_KEYS)[number];

/**
 * How a table is exported:
 *  - "offsets": append-only by Kafka lineage (Bronze, Silver). Progress per (topic, generation, partition) = next
 *    offset (topic_generation, the last column, is added to tables created before it: additive schema change).
 *  - "day-snapshot": Gold is updated in place (upserts), so each export replaces the spend_day partitions whose
 *    content changed (fingerprint per day) with their current rows: remove + add in one commit.
 */
export interface ExportTable {
  readonly key: ExportTableKey;
  readonly source: string;
  readonly mode: "offsets" | "day-snapshot";
  readonly spec: TableSpec;
  readonly pageQuery: QueryName;
}

const MONEY = types.decimal(20, 6);
const c = (name: string, type: ColumnType, nullable: boolean, comment?: string): Column => ({
  name,
  type,
  nullable,
  ...(comment === undefined ? {} : { comment }),
});

const BRONZE_COLUMNS: readonly Column[] = [
  c("event_type", types.string(), true),
  c("click_id", types.string(), true),
  c("advertiser", types.string(), true),
  c("advertiser_id", types.string(), true, "as sent (NULL when absent)"),
  c("ad_id", types.string(), true),
  c("amount", MONEY, true),
  c("budget_value", MONEY, true),
  c("timestamp", types.timestamp(), true),
  c("topic", types.string(), false),
  c("partition", types.integer(), false),
  c("offset", types.long(), false),
  c("kafka_timestamp", types.timestamp(), false),
  c("record_key", types.binary(), true),
  c("raw_payload", types.binary(), true),
  c("payload_bytes", types.integer(), false),
  c("payload_truncated", types.boolean(), false),
  c("parse_status", types.string(), false, "parsed | rejected"),
  c("rejection_reason", types.string(), true),
  c("rejection_detail", types.string(), true),
  c("ingested_at", types.timestamp(), false),
  c(
    "kafka_date",
    types.date(),
    false,
    "UTC day of kafka_timestamp (partition column; Postgres partitions by it too)",
  ),
  // Added by warehouse migration 0013: tables exported before it gain the column (nullable, at the end; null = 0).
  c(
    "topic_generation",
    types.integer(),
    true,
    "generation of the topic's log (a recreated topic restarts at 0)",
  ),
];

const SILVER_COLUMNS: readonly Column[] = [
  c("event_type", types.string(), true),
  c("click_id", types.string(), true),
  c("advertiser", types.string(), true),
  c("advertiser_id", types.string(), true),
  c("ad_id", types.string(), true),
  c("amount", MONEY, true),
  c("budget_value", MONEY, true),
  c("timestamp", types.timestamp(), true),
  c("is_valid", types.boolean(), false),
  c("processed_at", types.timestamp(), false),
  c("ingest_year", types.integer(), true),
  c("ingest_month", types.integer(), true),
  c("ingest_day", types.integer(), true),
  c("ingest_hour", types.integer(), true),
  c("error_codes", types.array(types.string()), false),
  c("warnings", types.array(types.string()), false),
  c("gold_window_start", types.timestamp(), true),
  c("contrib_gross_micros", types.long(), false),
  c("contrib_net_micros", types.long(), false),
  c("contrib_records", types.integer(), false),
  c("contrib_valid_clicks", types.integer(), false),
  c("contrib_invalid_clicks", types.integer(), false),
  c("contrib_duplicate_clicks", types.integer(), false),
  c("topic", types.string(), false),
  c("partition", types.integer(), false),
  c("offset", types.long(), false),
  c("kafka_timestamp", types.timestamp(), false),
  // Added by warehouse migration 0013: tables exported before it gain the column (nullable, at the end; null = 0).
  c(
    "topic_generation",
    types.integer(),
    true,
    "generation of the topic's log (a recreated topic restarts at 0)",
  ),
  // Added by warehouse migration 0014: tables exported before it gain the column (nullable, at the end; null = 0).
  c(
    "contrib_over_cap_micros",
    types.long(),
    true,
    "part of the click beyond a hard_cap budget: in Gold over_cap_spend, never in net",
  ),
];

const GOLD_COLUMNS: readonly Column[] = [
  c("advertiser", types.string(), true),
  c("advertiser_id", types.string(), false),
  c("gross_spend", MONEY, false),
  c("net_spend", MONEY, false),
  c("record_count", types.long(), false),
  c("budget_value", MONEY, true),
  c("can_serve", types.boolean(), false),
  c("window_start", types.timestamp(), false),
  c("window_end", types.timestamp(), false),
  c("spend_hour", types.timestamp(), false),
  c("spend_day", types.timestamp(), false),
  c("spend_month", types.timestamp(), false),
  c("valid_clicks", types.long(), false),
  c("invalid_clicks", types.long(), false),
  c("duplicate_clicks", types.long(), false),
  c("budget_event_time", types.timestamp(), true),
  c("period_net_spend", MONEY, false),
  c("serving_reason", types.string(), true),
  c("last_event_time", types.timestamp(), true),
  c("updated_at", types.timestamp(), false),
  // Added by warehouse migration 0012: tables exported before it gain the column (nullable, at the end).
  c("budget_source", types.string(), true),
  // Added by warehouse migration 0014 (nullable, at the end; the day rewrite that follows fills it).
  c(
    "over_cap_spend",
    MONEY,
    true,
    "valid spend beyond a hard_cap budget: in gross_spend, never in net_spend",
  ),
  // Added by warehouse migration 0020 (nullable, at the end; NULL on hours written before it).
  c(
    "local_spend_day",
    types.date(),
    true,
    "local date of the hour's start in the advertiser's time zone; spend_day stays the UTC day",
  ),
];

/** The three exported tables. Lake paths mirror the Postgres names: `<schema>/<table>`. */
export const EXPORT_TABLES: Readonly<Record<ExportTableKey, ExportTable>> = {
  bronze: {
    key: "bronze",
    source: "bronze.ad_click_events_raw",
    mode: "offsets",
    pageQuery: "export_bronze_page",
    spec: {
      name: "bronze.ad_click_events_raw",
      path: "bronze/ad_click_events_raw",
      columns: BRONZE_COLUMNS,
      partitionColumns: ["kafka_date"],
      description: "Every Kafka record as received (exported from Postgres by adpipe).",
    },
  },
  silver: {
    key: "silver",
    source: "silver.ad_click_events_clean",
    mode: "offsets",
    pageQuery: "export_silver_page",
    spec: {
      name: "silver.ad_click_events_clean",
      path: "silver/ad_click_events_clean",
      columns: SILVER_COLUMNS,
      partitionColumns: ["ingest_year", "ingest_month", "ingest_day"],
      description: "Parsed events with data-quality findings (exported from Postgres by adpipe).",
    },
  },
  gold: {
    key: "gold",
    source: "gold.advertiser_spend",
    mode: "day-snapshot",
    pageQuery: "export_gold_page",
    spec: {
      name: "gold.advertiser_spend",
      path: "gold/advertiser_spend",
      columns: GOLD_COLUMNS,
      partitionColumns: ["spend_day"],
      description:
        "Hourly spend per advertiser (exported from Postgres by adpipe; days rewritten when they change).",
    },
  },
};

type PgValue = string | number | boolean | Buffer | readonly (string | null)[] | null;

function convert(column: Column, value: PgValue | undefined): Value {
  if (value === null || value === undefined) return null;
  const type = column.type;
  switch (type.kind) {
    case "string":
      return String(value);
    case "long":
    case "timestamp":
      return BigInt(value as string);
    case "integer":
    case "date":
      return Number(value);
    case "boolean":
      return value as boolean;
    case "binary":
      return new Uint8Array(value as Buffer);
    case "decimal":
      return parseDecimal(value as string, type.scale);
    case "array":
      if (!Array.isArray(value))
        throw new LakeError("invalid_rows", `column ${column.name}: expected an array`);
      return (value as (string | null)[]).map((element) => element);
  }
}

/** A lake row from a page query row (the query's encodings are documented in its header). */
export function lakeRow(columns: readonly Column[], row: Readonly<Record<string, PgValue>>): Row {
  const out: Record<string, Value> = {};
  for (const column of columns) out[column.name] = convert(column, row[column.name]);
  return out;
}
