import { z } from "zod";

/** How a view column is returned: money stays an exact decimal string (NUMERIC text), times are ISO. */
export type ColumnKind = "text" | "money" | "time" | "count" | "bool";

export interface ReportDefinition {
  /** URL segment under /v1/reports/ and the name of its query, report_<name> (built by report-query.ts). */
  readonly name: string;
  readonly path: string;
  readonly view: string;
  readonly summary: string;
  /** The view column that from/to filter. */
  readonly timeColumn: string;
  readonly columns: Readonly<Record<string, ColumnKind>>;
  /** Row order (columns, optionally `DESC`); default: advertiser, then the time column. */
  readonly orderBy?: readonly string[];
}

export const REPORTS = [
  {
    name: "total",
    path: "/v1/reports/spend/total",
    view: "aggregated_advertiser_spend",
    summary: "All-time spend per advertiser, with latest budget and serving status",
    timeColumn: "latest_activity_time",
    columns: {
      advertiser: "text",
      total_gross_spend: "money",
      total_net_spend: "money",
      total_clicks: "count",
      latest_budget_value: "money",
      latest_activity_time: "time",
      current_serving_status: "bool",
    },
    orderBy: ["advertiser"],
  },
  {
    name: "monthly",
    path: "/v1/reports/spend/monthly",
    view: "monthly_spend",
    summary: "Spend per advertiser and UTC month",
    timeColumn: "spend_month",
    columns: {
      advertiser: "text",
      spend_month: "time",
      monthly_gross_spend: "money",
      monthly_net_spend: "money",
      total_clicks: "count",
      budget_value: "money",
      can_serve_status: "bool",
    },
  },
  {
    name: "daily",
    path: "/v1/reports/spend/daily",
    view: "daily_spend",
    summary: "Spend per advertiser and UTC day",
    timeColumn: "spend_day",
    columns: { advertiser: "text", spend_day: "time", daily_gross_spend: "money", daily_net_spend: "money" },
  },
  {
    name: "hourly",
    path: "/v1/reports/spend/hourly",
    view: "hourly_spend",
    summary: "Spend per advertiser and hour",
    timeColumn: "spend_hour_start",
    columns: {
      advertiser: "text",
      spend_hour_start: "time",
      spend_hour_end: "time",
      hourly_gross_spend: "money",
      hourly_net_spend: "money",
    },
  },
  {
    name: "budget_trend",
    path: "/v1/reports/budget/trend",
    view: "hourly_average_budget",
    summary: "Time-weighted average budget per advertiser and hour",
    timeColumn: "spend_hour",
    columns: { advertiser: "text", spend_hour: "time", avg_budget: "money" },
  },
  {
    name: "budget_changes",
    path: "/v1/reports/budget/changes",
    view: "latest_changed_budgets",
    summary: "Latest hour where each advertiser's budget changed",
    timeColumn: "spend_hour",
    columns: { advertiser: "text", spend_hour: "time", budget_value: "money" },
  },
  {
    name: "serving_status",
    path: "/v1/reports/serving-status",
    view: "latest_serving_status",
    summary: "can_serve of each advertiser's latest Gold hour (the live state is GET /v1/serving)",
    timeColumn: "latest_hour",
    columns: { advertiser: "text", latest_hour: "time", latest_can_serve: "bool" },
  },
  {
    name: "combined",
    path: "/v1/reports/spend-vs-budget",
    view: "combined_spend_budget",
    summary:
      "Per advertiser and day: 'Spend' (net) and 'Remaining Budget' rows, for the budget-vs-spend donut",
    timeColumn: "spend_day",
    columns: { advertiser: "text", spend_day: "time", category: "text", amount: "money" },
    orderBy: ["advertiser", "spend_day", "category DESC"],
  },
] as const satisfies readonly ReportDefinition[];

export type ReportName = (typeof REPORTS)[number]["name"];

const KIND_SCHEMAS = {
  text: z.string(),
  money: z.string().nullable().describe("exact decimal (6 places), null when absent"),
  time: z.string().nullable().describe("ISO 8601, UTC"),
  count: z.number().int().nullable(),
  bool: z.boolean().nullable(),
} as const;

type ItemShape<R extends ReportDefinition> = {
  -readonly [C in keyof R["columns"]]: (typeof KIND_SCHEMAS)[R["columns"][C]];
};

/** The zod schema of one row of a report: its columns, each typed by its kind. */
export function itemSchema<R extends ReportDefinition>(report: R) {
  return z.object(
    Object.fromEntries(
      Object.entries(report.columns).map(([name, kind]) => [name, KIND_SCHEMAS[kind]]),
    ) as ItemShape<R>,
  );
}

/** One row of the named report as the API answers it (the item schema's output, so it cannot drift). */
export type ReportItem<N extends ReportName> = z.output<
  ReturnType<typeof itemSchema<Extract<(typeof REPORTS)[number], { name: N }>>>
>;

/** pg gives NUMERIC and BIGINT as strings and timestamptz as Date; convert by declared kind. */
export type ReportValue = string | number | boolean | null;

export function mapRow(report: ReportDefinition, row: Record<string, unknown>): Record<string, ReportValue> {
  const out: Record<string, ReportValue> = {};
  for (const [name, kind] of Object.entries(report.columns)) {
    const value = row[name];
    if (value === null || value === undefined) {
      out[name] = kind === "text" ? "" : null;
      continue;
    }
    switch (kind) {
      case "time":
        out[name] = value instanceof Date ? value.toISOString() : String(value);
        break;
      case "count":
        out[name] = Number(value);
        break;
      case "bool":
        out[name] = Boolean(value);
        break;
      default:
        out[name] = String(value);
    }
  }
  return out;
}
