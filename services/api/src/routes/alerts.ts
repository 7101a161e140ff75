import { alertEventFields, type StoredAlert } from "@adpipe/alerts";
import {
  advertiserIdSchema,
  advertiserParamsSchema,
  alertItemSchema,
  type deliverySchema,
  errorBodySchema,
} from "@adpipe/api-contract";
import { alertThresholdsSchema } from "@adpipe/core";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiDeps } from "../context.js";
import { dependency } from "../dependency.js";
import { ApiError } from "../errors.js";
import { writeRouteConfig } from "../route-config.js";
import { apiQueries } from "../sql.js";

const TAG = ["alerts"];
const MAX_ALERTS_PAGE = 500;

const alertsQuerySchema = z.object({
  advertiser_id: advertiserIdSchema.optional(),
  since: z.iso.datetime({ offset: true }).optional().describe("only alerts fired at or after this instant"),
  limit: z.coerce.number().int().min(1).max(MAX_ALERTS_PAGE).default(50),
  before: z
    .string()
    .regex(/^\d{4}-\d\d-\d\dT[\d:.]+Z_[0-9a-f-]{36}$/)
    .optional()
    .describe("keyset cursor: next_before of the previous page"),
});

const alertsResponseSchema = z.object({
  items: z.array(alertItemSchema),
  next_before: z.string().nullable().describe("cursor of the next (older) page; null on the last page"),
});

const thresholdsBodySchema = z.object({
  thresholds_pct: alertThresholdsSchema
    .nullable()
    .describe("1-10 distinct whole percentages of the budget (1-1000); null restores the service default"),
});

const thresholdsResponseSchema = z.object({
  advertiser_id: z.string(),
  thresholds_pct: z
    .array(z.number().int())
    .nullable()
    .describe("null: the alerter's ALERT_THRESHOLDS_PCT applies"),
  updated_at: z.string().nullable(),
  updated_by: z.string().nullable(),
});

interface AlertRow extends StoredAlert {
  deliveries: z.output<typeof deliverySchema>[];
}

/** GET /v1/alerts (read) and an advertiser's alert thresholds (GET read, PUT write, audited). */
export function alertRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      "/v1/alerts",
      {
        schema: {
          tags: TAG,
          summary: "Budget alerts fired (each once per advertiser, period, kind and threshold), newest first",
          querystring: alertsQuerySchema,
          response: {
            200: alertsResponseSchema,
            400: errorBodySchema,
            401: errorBodySchema,
            503: errorBodySchema,
          },
        },
      },
      async (request) => {
        const { advertiser_id, since, limit, before } = request.query;
        const [beforeAt, beforeId] = before === undefined ? [null, null] : before.split("_");
        if (beforeAt !== null && Number.isNaN(Date.parse(beforeAt)))
          throw new ApiError("bad_request", "before is not a cursor this API returned", {
            details: [{ path: ["before"], message: "invalid" }],
          });
        const { rows } = await dependency("postgres", () =>
          deps.pool.query<AlertRow>(
            apiQueries.prepared("alerts_list", [
              advertiser_id ?? null,
              since ?? null,
              beforeAt ?? null,
              beforeId ?? null,
              limit + 1,
            ]),
          ),
        );
        const page = rows.slice(0, limit);
        const last = page.at(-1);
        return {
          items: page.map((row) => ({ ...alertEventFields(row), deliveries: row.deliveries })),
          next_before:
            rows.length > limit && last !== undefined
              ? `${last.fired_at.toISOString()}_${last.event_id}`
              : null,
        };
      },
    );

    app.get(
      "/v1/advertisers/:id/alert-thresholds",
      {
        schema: {
          tags: TAG,
          summary: "An advertiser's alert thresholds (null: the service default)",
          params: advertiserParamsSchema,
          response: {
            200: thresholdsResponseSchema,
            400: errorBodySchema,
            401: errorBodySchema,
            503: errorBodySchema,
          },
        },
      },
      async (request) => {
        const { id } = request.params;
        const { rows } = await dependency("postgres", () =>
          deps.pool.query<{ thresholds_pct: number[]; updated_at: Date; updated_by: string }>(
            apiQueries.prepared("alert_thresholds_get", [id]),
          ),
        );
        const row = rows[0];
        return {
          advertiser_id: id,
          thresholds_pct: row?.thresholds_pct ?? null,
          updated_at: row?.updated_at.toISOString() ?? null,
          updated_by: row?.updated_by ?? null,
        };
      },
    );

    app.put(
      "/v1/advertisers/:id/alert-thresholds",
      {
        config: writeRouteConfig(deps.limits),
        schema: {
          tags: TAG,
          summary:
            "Set an advertiser's budget alert thresholds, or restore the default with null (audited in alerts.threshold_audit)",
          security: [{ bearerAuth: [] }],
          params: advertiserParamsSchema,
          body: thresholdsBodySchema,
          response: {
            200: thresholdsResponseSchema,
            400: errorBodySchema,
            401: errorBodySchema,
            413: errorBodySchema,
            415: errorBodySchema,
            429: errorBodySchema,
            503: errorBodySchema,
          },
        },
      },
      async (request) => {
        const { id } = request.params;
        const thresholds =
          request.body.thresholds_pct === null
            ? null
            : [...request.body.thresholds_pct].sort((a, b) => a - b);
        const actor = request.identity ?? "anonymous";
        const { rows } = await dependency("postgres", () =>
          deps.pool.query<{ thresholds_pct: number[]; updated_at: Date; updated_by: string }>(
            apiQueries.prepared("alert_thresholds_put", [id, thresholds, actor]),
          ),
        );
        const row = rows[0];
        request.log.info({ advertiserId: id, thresholds, actor }, "alert thresholds changed");
        return {
          advertiser_id: id,
          thresholds_pct: row?.thresholds_pct ?? null,
          updated_at: row?.updated_at.toISOString() ?? null,
          updated_by: row?.updated_by ?? null,
        };
      },
    );
  };
}
