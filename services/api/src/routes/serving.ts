import {
  advertiserIdSchema,
  advertiserParamsSchema,
  errorBodySchema,
  servingBatchBodySchema,
  servingBatchQuerySchema,
  servingBatchResponseSchema,
  servingStateSchema,
} from "@adpipe/api-contract";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { ApiDeps } from "../context.js";
import { dependency } from "../dependency.js";
import { ApiError } from "../errors.js";
import { coalesceLookups } from "../lookup-coalescer.js";
import { servingBody } from "../serving-body.js";

const TAG = ["serving"];

/**
 * The lookup routes answer thousands of times a second: their bodies are built from typed values, so they
 * skip re-validating the response with zod and are serialised directly. The response schemas still
 * document them in /openapi.json.
 */
const plainJson = () => (data: unknown) => JSON.stringify(data);

/** Serving lookups answered from Redis only: they keep working while Postgres is down. */
export function servingRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const lookupMany = async (ids: readonly string[]) => {
    if (ids.length > deps.limits.maxBatchIds) {
      throw new ApiError("bad_request", `at most ${deps.limits.maxBatchIds} ids per request`);
    }
    const states = await dependency("redis", () => deps.serving.getMany(ids));
    return { results: ids.map((id) => servingBody(id, states.get(id) ?? null, deps.serveWhenUnknown)) };
  };

  // The single lookup is the hot route: lookups of one event-loop turn share one Redis round trip.
  const lookupOne = coalesceLookups((ids) => deps.serving.getMany(ids));

  return async (app) => {
    app.get(
      "/v1/advertisers/:id/serving",
      {
        serializerCompiler: plainJson,
        schema: {
          tags: TAG,
          summary: "Whether an advertiser may be served now (one Redis read)",
          description:
            "An advertiser the budget-tracker has never seen answers known=false with can_serve = SERVE_WHEN_UNKNOWN (default false, reason unknown_advertiser).",
          params: advertiserParamsSchema,
          response: {
            200: servingStateSchema,
            400: errorBodySchema,
            401: errorBodySchema,
            503: errorBodySchema,
          },
        },
      },
      async (request) => {
        const state = await dependency("redis", () => lookupOne(request.params.id));
        return servingBody(request.params.id, state ?? null, deps.serveWhenUnknown);
      },
    );

    app.post(
      "/v1/serving::batch",
      {
        serializerCompiler: plainJson,
        schema: {
          tags: TAG,
          summary: "Serving state of many advertisers in one Redis round trip",
          body: servingBatchBodySchema,
          response: {
            200: servingBatchResponseSchema,
            400: errorBodySchema,
            401: errorBodySchema,
            413: errorBodySchema,
            503: errorBodySchema,
          },
        },
      },
      async (request) => lookupMany(request.body.ids),
    );

    app.get(
      "/v1/serving",
      {
        serializerCompiler: plainJson,
        schema: {
          tags: TAG,
          summary: "Serving state of many advertisers (comma-separated ids) in one Redis round trip",
          querystring: servingBatchQuerySchema,
          response: {
            200: servingBatchResponseSchema,
            400: errorBodySchema,
            401: errorBodySchema,
            503: errorBodySchema,
          },
        },
      },
      async (request) => {
        const ids = request.query.ids.split(",").map((id) => id.trim());
        const issues = ids.flatMap((id, index) => {
          const checked = advertiserIdSchema.safeParse(id);
          return checked.success
            ? []
            : [{ path: ["ids", index], message: checked.error.issues[0]?.message ?? "invalid" }];
        });
        if (issues.length > 0)
          throw new ApiError("bad_request", "invalid advertiser id in ids", { details: issues });
        return lookupMany(ids);
      },
    );
  };
}
