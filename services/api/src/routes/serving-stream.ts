import type { ServerResponse } from "node:http";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { ServingChangeFeed } from "../adapters/serving-changes.js";
import type { ApiDeps } from "../context.js";
import { dependency } from "../dependency.js";
import { ApiError } from "../errors.js";
import { errorBodySchema } from "../schemas.js";

/** Open streams per process: each holds a socket; beyond this, clients fall back to polling. */
export const MAX_SERVING_STREAMS = 200;
const HEARTBEAT_MS = 15_000;

/**
 * `GET /v1/serving/changes`: Server-Sent Events relaying the budget-tracker's `<prefix>serving-changes`
 * messages (`serving_change` when an advertiser's can_serve flips, `reset` after a rebuild). The dashboard
 * uses it to update the serving table the moment a flip happens and to show when it happened.
 */
export function servingStreamRoutes(deps: ApiDeps, feed: ServingChangeFeed): FastifyPluginAsyncZod {
  const open = new Set<ServerResponse>();

  return async (app) => {
    // Streams never finish on their own: end them so a graceful shutdown does not wait forever.
    app.addHook("preClose", async () => {
      for (const response of open) response.end();
      open.clear();
      await feed.close();
    });

    app.get(
      "/v1/serving/changes",
      {
        schema: {
          tags: ["serving"],
          summary: "Server-Sent Events: can_serve flips as the budget-tracker announces them",
          description:
            "text/event-stream. Events `serving_change` (data: {type, advertiserId, canServe, reason, period, updatedAt}) and `reset` (drop every cached state). Comment lines every 15 s keep proxies from closing the stream. At-most-once: combine with lookups.",
          response: { 401: errorBodySchema, 503: errorBodySchema },
        },
      },
      async (request, reply) => {
        if (open.size >= MAX_SERVING_STREAMS) {
          throw new ApiError(
            "dependency_unavailable",
            "too many open change streams, poll the lookups instead",
            {
              retryAfterSeconds: 30,
            },
          );
        }
        const raw = reply.raw;
        const send = (text: string) => {
          raw.write(text);
        };
        const unsubscribe = await dependency("redis", () =>
          feed.subscribe((message) => send(`event: ${message.type}\ndata: ${JSON.stringify(message)}\n\n`)),
        );
        reply.hijack();
        raw.writeHead(200, {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-store",
          connection: "keep-alive",
          "x-accel-buffering": "no",
        });
        open.add(raw);
        send(`retry: ${deps.dashboardRefreshMs}\n: connected\n\n`);
        const heartbeat = setInterval(() => send(": ping\n\n"), HEARTBEAT_MS);
        heartbeat.unref();
        request.raw.on("close", () => {
          clearInterval(heartbeat);
          unsubscribe();
          open.delete(raw);
        });
      },
    );
  };
}
