import type { ServerResponse } from "node:http";
import { errorBodySchema } from "@adpipe/api-contract";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import type { ServingChangeFeed } from "../adapters/serving-changes.js";
import type { ApiDeps } from "../context.js";
import { dependency } from "../dependency.js";
import { ApiError } from "../errors.js";

/** Open streams per process: each holds a socket; beyond this, clients fall back to polling. */
export const MAX_SERVING_STREAMS = 200;

/** Who holds a stream: the token's identity, else (public reads) the client address. */
function principalOf(identity: string | null, ip: string): string {
  return identity === null ? `ip:${ip}` : `token:${identity}`;
}
const HEARTBEAT_MS = 15_000;

/**
 * `GET /v1/serving/changes`: Server-Sent Events relaying the budget-tracker's `<prefix>serving-changes`
 * messages (`serving_change` when an advertiser's can_serve flips, `reset` after a rebuild). The dashboard
 * uses it to update the serving table the moment a flip happens and to show when it happened.
 */
export function servingStreamRoutes(deps: ApiDeps, feed: ServingChangeFeed): FastifyPluginAsyncZod {
  const open = new Set<ServerResponse>();
  /** Open streams per principal, so one client (a token, or an address when reads are public) cannot take them all. */
  const perPrincipal = new Map<string, number>();

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
          response: { 401: errorBodySchema, 429: errorBodySchema, 503: errorBodySchema },
        },
      },
      async (request, reply) => {
        // HEAD (fastify adds it to every GET) answers the headers and ends: a stream without a body would
        // never send them and hold a slot until the client gave up.
        if (request.method === "HEAD") {
          reply.hijack();
          reply.raw.writeHead(200, {
            "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-store",
          });
          reply.raw.end();
          return;
        }
        const principal = principalOf(request.identity, request.ip);
        if ((perPrincipal.get(principal) ?? 0) >= deps.limits.maxStreamsPerCaller) {
          throw new ApiError(
            "rate_limited",
            `at most ${deps.limits.maxStreamsPerCaller} open change streams per caller: close one or poll the lookups`,
            { retryAfterSeconds: 30 },
          );
        }
        if (open.size >= MAX_SERVING_STREAMS) {
          throw new ApiError(
            "dependency_unavailable",
            "too many open change streams, poll the lookups instead",
            {
              retryAfterSeconds: 30,
            },
          );
        }
        // The slot is taken before the first await, so concurrent requests cannot all pass the checks above.
        const raw = reply.raw;
        open.add(raw);
        perPrincipal.set(principal, (perPrincipal.get(principal) ?? 0) + 1);
        let released = false;
        let stop: () => void = () => undefined;
        const release = () => {
          if (released) return;
          released = true;
          stop();
          open.delete(raw);
          const left = (perPrincipal.get(principal) ?? 1) - 1;
          if (left > 0) perPrincipal.set(principal, left);
          else perPrincipal.delete(principal);
        };
        request.raw.on("close", release);
        const send = (text: string) => {
          raw.write(text);
        };
        let unsubscribe: () => void;
        try {
          unsubscribe = await dependency("redis", () =>
            feed.subscribe((message) => send(`event: ${message.type}\ndata: ${JSON.stringify(message)}\n\n`)),
          );
        } catch (error) {
          release();
          throw error;
        }
        const heartbeat = setInterval(() => send(": ping\n\n"), HEARTBEAT_MS);
        heartbeat.unref();
        stop = () => {
          clearInterval(heartbeat);
          unsubscribe();
        };
        // The client may have left while the subscription opened (its close event has been and gone).
        if (released || request.raw.destroyed) {
          if (released) stop();
          else release();
          reply.hijack();
          return;
        }
        reply.hijack();
        raw.writeHead(200, {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-store",
          connection: "keep-alive",
          "x-accel-buffering": "no",
        });
        send(`retry: ${deps.dashboardRefreshMs}\n: connected\n\n`);
      },
    );
  };
}
