import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import fastifyRateLimit from "@fastify/rate-limit";
import fastifySwagger from "@fastify/swagger";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from "fastify";
import {
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import { Histogram } from "prom-client";
import { createServingChangeFeed } from "./adapters/serving-changes.js";
import { AUTH_LEVELS, type AuthLevel, authorize, DEFAULT_AUTH_LEVEL } from "./auth.js";
import type { ApiDeps } from "./context.js";
import { ApiError } from "./errors.js";
import { errorBody, toApiError } from "./http-errors.js";
import { parseJsonBody } from "./json-body.js";
import "./route-config.js";
import { alertRoutes } from "./routes/alerts.js";
import { budgetRoutes } from "./routes/budgets.js";
import { clickRoutes } from "./routes/clicks.js";
import { dashboardRoutes } from "./routes/dashboard.js";
import { opsRoutes } from "./routes/ops.js";
import { reportRoutes } from "./routes/reports.js";
import { reservationRoutes } from "./routes/reservations.js";
import { servingRoutes } from "./routes/serving.js";
import { servingStreamRoutes } from "./routes/serving-stream.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Token identity of the caller (null: anonymous, on a public route or with API_PUBLIC_READS). */
    identity: string | null;
  }
  interface FastifyInstance {
    /** Every route as registered (HEAD included) with the auth level it declared: what tests iterate over. */
    readonly routeTable: readonly RouteEntry[];
  }
}

export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  readonly auth: AuthLevel;
}

/** Bodies of every route but POST /v1/clicks (which allows API_BODY_LIMIT_BYTES). */
export const DEFAULT_BODY_LIMIT_BYTES = 16 * 1_024;

/**
 * Longest raw path parameter: a 128-character advertiser id percent-encoded takes up to 1,152 characters
 * (3 UTF-8 bytes of 3 characters each per code unit), and every valid id must reach its lookup.
 */
export const MAX_PARAM_LENGTH = 1_536;

export const API_VERSION = "0.1.0";

const REASON_PHRASES: Readonly<Record<number, string>> = {
  400: "Bad Request",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
};

/** A 4xx written straight to a socket the HTTP parser gave up on (no request object exists yet). */
function writeClientError(socket: Socket, error: ApiError): void {
  if (socket.destroyed || !socket.writable) return;
  const body = JSON.stringify(errorBody(error, randomUUID()));
  socket.end(
    `HTTP/1.1 ${error.statusCode} ${REASON_PHRASES[error.statusCode] ?? "Error"}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export type ApiApp = FastifyInstance<
  Server,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** The HTTP API as a fastify instance (not listening): main.ts listens, tests inject or listen on port 0. */
export async function buildApp(deps: ApiDeps): Promise<ApiApp> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Request lines at thousands of lookups per second would cost more than the lookups; errors are logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: DEFAULT_BODY_LIMIT_BYTES,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    return503OnClosing: true,
    // One route per resource whatever the spelling: a trailing slash, doubled slashes and `;…` (read as the
    // start of the query, like `?`) reach the same route, so they also get the same authorization.
    routerOptions: {
      maxParamLength: MAX_PARAM_LENGTH,
      ignoreTrailingSlash: true,
      ignoreDuplicateSlashes: true,
      // A router option of find-my-way that fastify's types list only at the top level (deprecated there).
      ...({ useSemicolonDelimiter: true } as object),
    },
    // URLs the router cannot read (a bad escape, a parameter over MAX_PARAM_LENGTH) matched no route: the
    // default level applies first (an anonymous caller gets 401, as for any unknown path), then the error.
    frameworkErrors: (error, request, reply) => {
      try {
        authorize(deps, DEFAULT_AUTH_LEVEL, request.headers.authorization);
      } catch (denied) {
        sendError(reply, request.id, denied as ApiError);
        return;
      }
      const tooLong = (error as { code?: string }).code === "FST_ERR_MAX_PARAM_LENGTH";
      sendError(
        reply,
        request.id,
        tooLong
          ? new ApiError("uri_too_long", `a path segment is longer than ${MAX_PARAM_LENGTH} characters`)
          : new ApiError("bad_request", "the URL is not valid (a bad percent-encoding)"),
      );
    },
    // The HTTP parser's own refusals (headers over 16 KiB, a malformed request line) in the documented error
    // shape too; nothing of the request is echoed.
    clientErrorHandler: (error: Error & { code?: string }, socket: Socket): void => {
      if (error.code === "ECONNRESET") return;
      if (error.code === "HPE_HEADER_OVERFLOW")
        writeClientError(
          socket,
          new ApiError("headers_too_large", "the request line and headers are larger than 16 KiB"),
        );
      else if (error.code === "ERR_HTTP_REQUEST_TIMEOUT")
        writeClientError(socket, new ApiError("request_timeout", "the request took too long to arrive"));
      else writeClientError(socket, new ApiError("bad_request", "the request is not valid HTTP"));
    },
  }).withTypeProvider<ZodTypeProvider>();

  function sendError(reply: FastifyReply, requestId: string, error: ApiError): void {
    for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
    if (error.retryAfterSeconds !== undefined) reply.header("retry-after", String(error.retryAfterSeconds));
    reply.code(error.statusCode);
    reply.send(errorBody(error, requestId));
  }

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest("identity", null);
  // JSON only: text bodies get a 415 instead of a confusing schema error. JSON bodies go through parseJsonBody:
  // bounded depth and no prototype keys, each refusal a 400 with the body path.
  app.removeContentTypeParser(["text/plain", "application/json"]);
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  const requestDuration = new Histogram({
    name: "api_http_request_duration_seconds",
    help: "HTTP request duration by route, method and status",
    labelNames: ["route", "method", "status"] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [deps.registry],
  });

  // Callback-style hooks: no promise per request on the lookup hot path.
  app.addHook("onResponse", (request, reply, done) => {
    requestDuration.observe(
      {
        route: request.routeOptions.url ?? "unmatched",
        method: request.method,
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1_000,
    );
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    const apiError = toApiError(error);
    if (apiError.statusCode >= 500) {
      // 503 = a dependency is away (expected during outages); anything else 5xx is a bug.
      const level = apiError.statusCode === 503 ? "warn" : "error";
      request.log[level](
        { err: error, reqId: request.id, route: request.routeOptions.url },
        "request failed",
      );
    }
    sendError(reply, request.id, apiError);
  });

  app.setNotFoundHandler((request, reply) => {
    // No echo of the path: it may carry anything (control characters, a token pasted by mistake).
    const error = new ApiError("not_found", `no route for ${request.method} on this path`);
    reply.code(404).send(errorBody(error, request.id));
  });

  /**
   * Authorization, decided once per route from the level the route declared (config.auth, DEFAULT_AUTH_LEVEL
   * when it declared none) and never from the URL text: the router has already decoded and matched the path,
   * so `/%761/...` is the route `/v1/...` with that route's level. It runs first among the route's onRequest
   * hooks, before the rate limit and before the body is read (an unauthenticated client cannot make the API
   * parse a large body).
   */
  const routeTable: RouteEntry[] = [];
  app.decorate("routeTable", routeTable);
  app.addHook("onRoute", (route) => {
    const declared = route.config?.auth;
    if (declared !== undefined && !AUTH_LEVELS.includes(declared))
      throw new Error(`route ${route.method} ${route.url}: unknown auth level ${String(declared)}`);
    const level = declared ?? DEFAULT_AUTH_LEVEL;
    route.config = { ...route.config, auth: level };
    // The OpenAPI document says the same: a bearer token for read and write routes, none for public ones.
    if (route.schema !== undefined && route.schema.security === undefined)
      route.schema = { ...route.schema, security: level === "public" ? [] : [{ bearerAuth: [] }] };
    const guard = (request: FastifyRequest, _reply: unknown, done: (error?: Error) => void): void => {
      try {
        request.identity = authorize(deps, level, request.headers.authorization);
        done();
      } catch (error) {
        done(error as Error);
      }
    };
    const existing = route.onRequest === undefined ? [] : [route.onRequest].flat();
    route.onRequest = [guard, ...existing] as NonNullable<typeof route.onRequest>;
    for (const method of [route.method].flat()) routeTable.push({ method, url: route.url, auth: level });
  });
  // A request that matched no route (the not-found handler) has the default level too: an anonymous caller
  // learns nothing from 404s about which paths exist.
  app.addHook("onRequest", (request, _reply, done) => {
    if (!request.is404) {
      done();
      return;
    }
    try {
      request.identity = authorize(deps, DEFAULT_AUTH_LEVEL, request.headers.authorization);
      done();
    } catch (error) {
      done(error as Error);
    }
  });

  if (deps.limits.writeRateLimitPerMinute > 0) {
    // Not global: only routes whose config carries `rateLimit` (the writes, see writeRouteConfig) pay for it.
    await app.register(fastifyRateLimit, {
      global: false,
      hook: "onRequest",
      // Per authenticated principal (the token's identity, set by the route's auth guard, which runs first):
      // any spelling of the Authorization header that names the same token shares one budget.
      keyGenerator: (request) => (request.identity === null ? `ip:${request.ip}` : `id:${request.identity}`),
      errorResponseBuilder: (_request, context) =>
        new ApiError("rate_limited", `rate limit of ${context.max} writes per minute exceeded, retry later`, {
          retryAfterSeconds: Math.max(1, Math.ceil(context.ttl / 1_000)),
        }),
    });
  }

  await app.register(fastifySwagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "adpipe API",
        version: API_VERSION,
        description:
          "Serving lookups (Redis), budgets and pauses (Kafka + audit in Postgres), click ingestion, and reporting from the Gold views. Money is integer micro-units (1 unit = 1,000,000 micros) or exact decimal strings. Errors have the shape {error: {code, message, request_id, details?}}.",
      },
      components: {
        securitySchemes: {
          bearerAuth: {
            type: "http",
            scheme: "bearer",
            description:
              "API_WRITE_TOKENS for writes; API_READ_TOKENS (or a write token) for reads, unless API_PUBLIC_READS=true",
          },
        },
      },
      tags: [
        { name: "serving", description: "can_serve lookups from Redis" },
        { name: "budgets", description: "budget changes, pauses and their audit trail" },
        { name: "clicks", description: "click ingestion" },
        { name: "reports", description: "spend and budget reports from the Gold views" },
        { name: "ops", description: "health, readiness, metrics" },
      ],
    },
    transform: jsonSchemaTransform,
  });

  await app.register(opsRoutes(deps));
  await app.register(servingRoutes(deps));
  await app.register(reservationRoutes(deps));
  await app.register(servingStreamRoutes(deps, createServingChangeFeed(deps.redis, deps.redisKeyPrefix)));
  await app.register(budgetRoutes(deps));
  await app.register(alertRoutes(deps));
  await app.register(clickRoutes(deps));
  await app.register(reportRoutes(deps));
  await app.register(dashboardRoutes(deps));

  app.get("/openapi.json", { config: { auth: "public" }, schema: { hide: true } }, async () => app.swagger());

  await app.ready();
  return app;
}
