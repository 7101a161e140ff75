import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiDeps } from "../context.js";
import { dependency } from "../dependency.js";
import { ApiError } from "../errors.js";
import { itemSchema, mapRow, REPORTS, type ReportDefinition } from "../reports/definitions.js";
import { advertiserIdSchema, advertiserSummarySchema, errorBodySchema, pageFields } from "../schemas.js";
import { namedQuery } from "../sql.js";

export const MAX_PAGE_SIZE = 1_000;
/** Deep offsets make Postgres walk and discard every earlier row: narrow the time range instead. */
export const MAX_OFFSET = 100_000;

const pageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(100),
  offset: z.coerce.number().int().min(0).max(MAX_OFFSET).default(0),
});

/**
 * A display name as a filter. Control characters are refused (400) like in advertiser ids: names never contain
 * them (the event contract drops such names), and Postgres cannot hold a NUL in text: the query would fail
 * and the client get a misleading 503 "postgres is unavailable".
 */
const displayNameFilterSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\p{Cc}]+$/u, "must not contain control characters");

const reportQuerySchema = pageQuerySchema.extend({
  advertiser: displayNameFilterSchema.optional().describe("display name (the views' advertiser column)"),
  advertiser_id: advertiserIdSchema
    .optional()
    .describe("budget key; matches the advertiser's current display name in the views"),
  from: z.iso
    .datetime({ offset: true })
    .optional()
    .describe("inclusive lower bound on the report's time column"),
  to: z.iso.datetime({ offset: true }).optional().describe("exclusive upper bound"),
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
          if (q.from !== undefined && q.to !== undefined && Date.parse(q.from) >= Date.parse(q.to)) {
            throw new ApiError("bad_request", "from must be before to", { details: [{ path: ["from"] }] });
          }
          const { rows } = await dependency("postgres", () =>
            deps.pool.query<Record<string, unknown>>(namedQuery(`report_${report.name}`), [
              q.advertiser ?? null,
              q.advertiser_id ?? null,
              q.from ?? null,
              q.to ?? null,
              q.limit + 1,
              q.offset,
            ]),
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
        const { rows } = await dependency("postgres", () =>
          deps.pool.query<{ advertiser_id: string; advertiser: string; first_hour: Date; latest_hour: Date }>(
            namedQuery("advertisers_list"),
            [q.advertiser ?? null, q.limit + 1, q.offset],
          ),
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
