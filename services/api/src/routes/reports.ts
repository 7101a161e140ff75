import {
  advertiserIdSchema,
  advertiserSummarySchema,
  errorBodySchema,
  pageFields,
  singleLineTextSchema,
} from "@adpipe/api-contract";
import { FIELD_MAX_LENGTH } from "@adpipe/core";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiDeps } from "../context.js";
import { dependency } from "../dependency.js";
import { ApiError } from "../errors.js";
import { itemSchema, mapRow, REPORTS, type ReportDefinition } from "../reports/definitions.js";
import { reportQueryName } from "../reports/report-query.js";
import { apiQueries } from "../sql.js";

export const MAX_PAGE_SIZE = 1_000;
/** Deep offsets make Postgres walk and discard every earlier row: narrow the time range instead. */
export const MAX_OFFSET = 100_000;

const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(100),
  offset: z.coerce.number().int().min(0).max(MAX_OFFSET).default(0),
});

/**
 * A display name as a filter, by the contract's rule for names: names never contain control characters (the
 * event contract drops such names), and Postgres cannot hold a NUL in text: the query would fail and the client
 * get a misleading 503 "postgres is unavailable".
 */
const displayNameFilterSchema = singleLineTextSchema(FIELD_MAX_LENGTH.advertiser);

/** The range of from/to: Gold holds event times (epoch ms) and Postgres cannot read every ISO year (0000). */
export const REPORT_TIME_MIN = "1970-01-01T00:00:00Z";
export const REPORT_TIME_MAX = "9999-12-31T23:59:59.999Z";
const REPORT_TIME_MIN_MS = Date.parse(REPORT_TIME_MIN);
const REPORT_TIME_MAX_MS = Date.parse(REPORT_TIME_MAX);

/**
 * An ISO 8601 date-time within REPORT_TIME_MIN..MAX. The query sends it normalised to UTC milliseconds
 * (reportTime), so an offset Postgres does not take (+23:59) or a year it cannot read never reaches it.
 */
const reportTimeSchema = z.iso.datetime({ offset: true }).refine((text) => {
  const ms = Date.parse(text);
  return ms >= REPORT_TIME_MIN_MS && ms <= REPORT_TIME_MAX_MS;
}, `must be between ${REPORT_TIME_MIN} and ${REPORT_TIME_MAX}`);

function reportTime(text: string | undefined): string | null {
  return text === undefined ? null : new Date(Date.parse(text)).toISOString();
}

const reportQuerySchema = pageQuerySchema.extend({
  advertiser: displayNameFilterSchema.optional().describe("display name (the views' advertiser column)"),
  advertiser_id: advertiserIdSchema
    .optional()
    .describe("budget key; matches the advertiser's current display name in the views"),
  from: reportTimeSchema.optional().describe("inclusive lower bound on the report's time column (UTC ms)"),
  to: reportTimeSchema.optional().describe("exclusive upper bound"),
});

const readErrors = { 400: errorBodySchema, 401: errorBodySchema, 503: errorBodySchema };

/** Reports read the seed's Gold views (as the reader role), paginated with limit/offset caps. */
export function reportRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const page = <T>(rows: T[], limit: number, offset: number) => ({
    items: rows.slice(0, limit),
    limit,
    offset,
    next_offset: rows.length > limit ? offset + limit : null,
  });

  return async (app) => {
    // Rows are built column by column from the definition (mapRow), so routes see the general shape.
    for (const report of REPORTS as readonly ReportDefinition[]) {
      app.get(
        report.path,
        {
          schema: {
            tags: ["reports"],
            summary: report.summary,
            description: `From gold.${report.view}; from/to filter ${report.timeColumn}.`,
            querystring: reportQuerySchema,
            response: { 200: z.object({ items: z.array(itemSchema(report)), ...pageFields }), ...readErrors },
          },
        },
        async (request) => {
          const q = request.query;
          const from = reportTime(q.from);
          const to = reportTime(q.to);
          if (from !== null && to !== null && from >= to) {
            throw new ApiError("bad_request", "from must be before to", {
              details: [{ in: "querystring", path: ["from"], message: "not_before_to" }],
            });
          }
          const query = apiQueries.prepared(reportQueryName(report), [
            q.advertiser ?? null,
            q.advertiser_id ?? null,
            from,
            to,
            q.limit + 1,
            q.offset,
          ]);
          const { rows } = await dependency(
            "postgres",
            () => deps.pool.query<Record<string, unknown>>(query),
            { inputs: { advertiser: q.advertiser, advertiser_id: q.advertiser_id, from, to } },
          );
          return page(
            rows.map((row) => mapRow(report, row)),
            q.limit,
            q.offset,
          );
        },
      );
    }

    app.get(
      "/v1/advertisers",
      {
        schema: {
          tags: ["reports"],
          summary: "Advertisers known to the warehouse (id and display name)",
          querystring: pageQuerySchema.extend({ advertiser: displayNameFilterSchema.optional() }),
          response: {
            200: z.object({ items: z.array(advertiserSummarySchema), ...pageFields }),
            ...readErrors,
          },
        },
      },
      async (request) => {
        const q = request.query;
        const query = apiQueries.prepared("advertisers_list", [q.advertiser ?? null, q.limit + 1, q.offset]);
        const { rows } = await dependency(
          "postgres",
          () =>
            deps.pool.query<{
              advertiser_id: string;
              advertiser: string;
              first_hour: Date;
              latest_hour: Date;
            }>(query),
          { inputs: { advertiser: q.advertiser } },
        );
        return page(
          rows.map((row) => ({
            advertiser_id: row.advertiser_id,
            advertiser: row.advertiser,
            first_hour: row.first_hour.toISOString(),
            latest_hour: row.latest_hour.toISOString(),
          })),
          q.limit,
          q.offset,
        );
      },
    );
  };
}
