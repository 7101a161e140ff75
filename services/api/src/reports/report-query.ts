import { REPORTS, type ReportDefinition, type ReportName } from "./definitions.js";

export type ReportQueryName = `report_${ReportName}`;

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;
const ORDER_TERM = /^([a-z_][a-z0-9_]*)( DESC)?$/;

function identifier(report: ReportDefinition, name: string): string {
  if (!IDENTIFIER.test(name)) throw new TypeError(`report ${report.name}: ${name} is not a plain identifier`);
  return name;
}

function orderTerm(report: ReportDefinition, term: string): string {
  const match = ORDER_TERM.exec(term);
  if (match?.[1] === undefined) throw new TypeError(`report ${report.name}: cannot order by ${term}`);
  return `v.${term}`;
}

/**
 * The statement of one report, built from its definition: the definition's columns of `gold.<view>`, filtered
 * by display name or advertiser id, from/to on the time column, paginated. Every report takes the same six
 * params, so the route calls them all alike.
 */
export function reportQueryText(report: ReportDefinition): string {
  const view = identifier(report, report.view);
  const columns = Object.keys(report.columns).map((column) => `v.${identifier(report, column)}`);
  const time = `v.${identifier(report, report.timeColumn)}`;
  const order = (report.orderBy ?? ["advertiser", report.timeColumn]).map((term) => orderTerm(report, term));
  return `-- name: report_${report.name}
-- ${report.summary} (gold.${view}); from/to filter ${report.timeColumn}.
-- params: $1 advertiser text|null, $2 advertiser_id text|null, $3 from timestamptz|null (inclusive),
--         $4 to timestamptz|null (exclusive), $5 limit integer, $6 offset integer
SELECT ${columns.join(", ")}
FROM gold.${view} v
WHERE ($1::text IS NULL OR v.advertiser = $1::text)
  AND ($2::text IS NULL OR v.advertiser = (
    -- The advertiser's display name as the views compute it: the name of its latest Gold row that has one.
    SELECT coalesce((array_agg(g.advertiser ORDER BY g.window_start DESC) FILTER (WHERE g.advertiser IS NOT NULL))[1],
                    g.advertiser_id)
    FROM gold.advertiser_spend g
    WHERE g.advertiser_id = $2::text
    GROUP BY g.advertiser_id))
  AND ($3::timestamptz IS NULL OR ${time} >= $3::timestamptz)
  AND ($4::timestamptz IS NULL OR ${time} < $4::timestamptz)
ORDER BY ${order.join(", ")}
LIMIT $5 OFFSET $6
`;
}

export function reportQueryName(report: ReportDefinition): ReportQueryName {
  return `report_${report.name}` as ReportQueryName;
}

/** The statement of every report, by query name. */
export function reportQueries(): Record<ReportQueryName, string> {
  return Object.fromEntries(
    REPORTS.map((report) => [reportQueryName(report), reportQueryText(report)]),
  ) as Record<ReportQueryName, string>;
}
