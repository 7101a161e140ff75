import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import fastifyRateLimit from "@fastify/rate-limit";
import fastifySwagger from "@fastify/swagger";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
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
import { requireToken } from "./auth.js";
import type { ApiDeps } from "./context.js";
import { ApiError } from "./errors.js";
import { errorBody, toApiError } from "./http-errors.js";
import { budgetRoutes } from "./routes/budgets.js";
import { clickRoutes } from "./routes/clicks.js";
import { dashboardRoutes } from "./routes/dashboard.js";
import { opsRoutes } from "./routes/ops.js";
import { reportRoutes } from "./routes/reports.js";
import { servingRoutes } from "./routes/serving.js";
import { servingStreamRoutes } from "./routes/serving-stream.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Token identity of the caller (writes always have one; reads when read tokens are configured). */
    identity: string | null;
  }
  interface FastifyContextConfig {
    /** The route changes state: it needs a write token and is rate limited. */
    write?: boolean;
  }
}

/** Bodies of every route but POST /v1/clicks (which allows API_BODY_LIMIT_BYTES). */
export const DEFAULT_BODY_LIMIT_BYTES = 16 * 1_024;

export const API_VERSION = "0.1.0";

/** Paths that never need a token: probes, metrics, the API description and the dashboard shell. */
function isPublicPath(url: string): boolean {
  return !url.startsWith("/v1/");
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
    routerOptions: { maxParamLength: 256 },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest("identity", null);
  // JSON only: text bodies get a 415 instead of a confusing schema error.
  app.removeContentTypeParser("text/plain");

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
    if (apiError.retryAfterSeconds !== undefined)
      reply.header("retry-after", String(apiError.retryAfterSeconds));
    reply.code(apiError.statusCode).send(errorBody(apiError, request.id));
  });

  app.setNotFoundHandler((request, reply) => {
    const error = new ApiError("not_found", `no route for ${request.method} ${request.url.split("?")[0]}`);
    reply.code(404).send(errorBody(error, request.id));
  });

  // Auth runs before the body is read, so an unauthenticated client cannot make the API parse a large body.
  const authenticate = (request: FastifyRequest): void => {
    if (request.routeOptions.config.write === true) {
      request.identity = requireToken(deps.writeTokens, request.headers.authorization, "this endpoint");
      return;
    }
    if (!deps.readTokens.isEmpty && !isPublicPath(request.url)) {
      const header = request.headers.authorization;
      // A write token also reads.
      try {
        request.identity = requireToken(deps.readTokens, header, "reading");
      } catch (error) {
        if (deps.writeTokens.isEmpty) throw error;
        request.identity = requireToken(deps.writeTokens, header, "reading");
      }
    }
  };
  app.addHook("onRequest", (request, _reply, done) => {
    try {
      authenticate(request);
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
      // Per caller: the token (hashed, never stored) when present, else the client address.
      keyGenerator: (request) => {
        const header = request.headers.authorization;
        return header === undefined
          ? `ip:${request.ip}`
          : `t:${createHash("sha256").update(header).digest("hex")}`;
      },
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
            description: "API_WRITE_TOKENS for writes; API_READ_TOKENS (when set) for reads",
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
  await app.register(servingStreamRoutes(deps, createServingChangeFeed(deps.redis, deps.redisKeyPrefix)));
  await app.register(budgetRoutes(deps));
  await app.register(clickRoutes(deps));
  await app.register(reportRoutes(deps));
  await app.register(dashboardRoutes(deps));

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  await app.ready();
  return app;
}
