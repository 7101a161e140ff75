import { clicksResponseSchema, errorBodySchema } from "@adpipe/api-contract";
import { type ParseResult, parseEvent, validateEventValue } from "@adpipe/core";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiDeps } from "../context.js";
import { dependency } from "../dependency.js";
import { ApiError } from "../errors.js";
import type { PublishRecord } from "../ports.js";
import { writeRouteConfig } from "../route-config.js";

const clickObjectSchema = z
  .record(z.string(), z.unknown())
  .describe(
    "one click in the seed's JSON shape: {event_type: 'ad_click', click_id, advertiser, advertiser_id?, ad_id, amount, budget_value?, timestamp}; validated by the core event contract, not here",
  );

interface ItemError {
  index: number;
  click_id: string | null;
  errors: string[];
}

/**
 * Click ingestion for web apps: each item is judged with the core contract against the time of the
 * request, and that same time becomes the Kafka record timestamp, so both pipelines judge the record
 * exactly as the API did. Accepted items are produced in one request with acks from all in-sync replicas.
 */
export function clickRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const now = deps.clock ?? Date.now;
  const bodySchema = z.union([
    clickObjectSchema,
    z.array(z.unknown()).min(1).max(deps.limits.maxClicksPerRequest),
  ]);

  return async (app) => {
    app.post(
      "/v1/clicks",
      {
        bodyLimit: deps.limits.bodyLimitBytes,
        config: writeRouteConfig(deps.limits),
        schema: {
          tags: ["clicks"],
          summary: "Track one click or a batch; 202 with accepted click_ids and per-item errors",
          description: `Up to ${deps.limits.maxClicksPerRequest} clicks per request. When no item is accepted the answer is 422 with the per-item errors in error.details.rejected.`,
          security: [{ bearerAuth: [] }],
          body: bodySchema,
          response: {
            202: clicksResponseSchema,
            400: errorBodySchema,
            401: errorBodySchema,
            413: errorBodySchema,
            415: errorBodySchema,
            422: errorBodySchema,
            429: errorBodySchema,
            503: errorBodySchema,
          },
        },
      },
      async (request, reply) => {
        const items: readonly unknown[] = Array.isArray(request.body) ? request.body : [request.body];
        const referenceTimeMs = now();
        const accepted: string[] = [];
        const rejected: ItemError[] = [];
        const records: PublishRecord[] = [];
        const options = { referenceTimeMs };
        items.forEach((item, index) => {
          // Judged on the decoded value first (the number 1e309 is Infinity there: out of range, where its
          // JSON text would say null), then on the exact text produced, which is what both pipelines read
          // (its size, in particular). The body's depth is bounded (json-body.ts), so stringify cannot overflow.
          let parsed: ParseResult = validateEventValue(item, options);
          let json = "";
          if (parsed.ok && parsed.isValid) {
            json = JSON.stringify(item);
            parsed = parseEvent(json, options);
          }
          if (!parsed.ok) {
            rejected.push({ index, click_id: null, errors: [parsed.reason] });
          } else if (!parsed.isValid) {
            rejected.push({ index, click_id: parsed.clickId, errors: [...parsed.errors] });
          } else if (
            parsed.eventType !== "ad_click" ||
            parsed.clickId === null ||
            parsed.advertiserId === null
          ) {
            // Budgets change through PUT /v1/advertisers/{id}/budget, which audits them.
            rejected.push({ index, click_id: parsed.clickId, errors: ["event_type_not_allowed"] });
          } else {
            accepted.push(parsed.clickId);
            records.push({ key: parsed.advertiserId, value: json, timestampMs: referenceTimeMs });
          }
        });
        if (records.length === 0) {
          throw new ApiError("unprocessable", "no click was accepted", { details: { rejected } });
        }
        await dependency("kafka", () => deps.publisher.publish(records));
        reply.code(202);
        return { accepted, rejected };
      },
    );
  };
}
