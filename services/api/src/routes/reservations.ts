import {
  errorBodySchema,
  releaseBodySchema,
  releaseResponseSchema,
  reserveBodySchema,
  reserveResponseSchema,
} from "@adpipe/api-contract";
import { MAX_RESERVATION_TTL_MS, type ReserveResult } from "@adpipe/serving-client";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { ApiDeps } from "../context.js";
import { dependency } from "../dependency.js";
import { writeRouteConfig } from "../route-config.js";

const TAG = ["reservations"];

/**
 * Admission by reservation over HTTP (docs/realtime.md "Reservations"): the serving client's reserveMany /
 * releaseMany, one Redis round trip per request (one per node on a cluster). Writes: they change what
 * other ad servers may reserve, so they need a write token, like every write.
 */
export function reservationRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const max = deps.limits.maxBatchIds;
  return async (app) => {
    app.post(
      "/v1/reservations",
      {
        bodyLimit: deps.limits.bodyLimitBytes,
        config: writeRouteConfig(deps.limits),
        schema: {
          tags: TAG,
          summary: "Reserve the most a click can cost before serving it (bulk, one Redis round trip)",
          description: `Up to ${max} reservations per request, any advertisers; results in request order. hard_cap advertisers: granted only if net + outstanding reservations + max_cost_micros <= budget; observe advertisers: the serving decision, nothing recorded. ttl_ms at most ${MAX_RESERVATION_TTL_MS}. The click then carries reservation_id (default: its click_id).`,
          security: [{ bearerAuth: [] }],
          body: reserveBodySchema(max),
          response: {
            200: reserveResponseSchema,
            400: errorBodySchema,
            401: errorBodySchema,
            403: errorBodySchema,
            413: errorBodySchema,
            429: errorBodySchema,
            503: errorBodySchema,
          },
        },
      },
      async (request) => {
        const items = request.body.reservations;
        const results: ReserveResult[] = await dependency("redis", () =>
          deps.serving.reserveMany(
            items.map((item) => ({
              advertiserId: item.advertiser_id,
              reservationId: item.reservation_id,
              maxCostMicros: item.max_cost_micros,
              ttlMs: item.ttl_ms,
            })),
          ),
        );
        return {
          results: items.map((item, i) => {
            const result = results[i] as ReserveResult;
            return {
              advertiser_id: item.advertiser_id,
              reservation_id: item.reservation_id,
              granted: result.granted,
              reason: result.reason,
              remaining_micros: result.remainingMicros,
            };
          }),
        };
      },
    );

    app.post(
      "/v1/reservations::release",
      {
        bodyLimit: deps.limits.bodyLimitBytes,
        config: writeRouteConfig(deps.limits),
        schema: {
          tags: TAG,
          summary: "Release reservations whose clicks will not come (bulk)",
          description:
            "The advertiser id is needed: a reservation lives in its advertiser's keys (one hash slot). released=false: it was not outstanding (settled, expired or released already).",
          security: [{ bearerAuth: [] }],
          body: releaseBodySchema(max),
          response: {
            200: releaseResponseSchema,
            400: errorBodySchema,
            401: errorBodySchema,
            403: errorBodySchema,
            413: errorBodySchema,
            429: errorBodySchema,
            503: errorBodySchema,
          },
        },
      },
      async (request) => {
        const items = request.body.reservations;
        const released = await dependency("redis", () =>
          deps.serving.releaseMany(
            items.map((item) => ({ advertiserId: item.advertiser_id, reservationId: item.reservation_id })),
          ),
        );
        return {
          results: items.map((item, i) => ({
            advertiser_id: item.advertiser_id,
            reservation_id: item.reservation_id,
            released: released[i] === true,
          })),
        };
      },
    );
  };
}
