import { errorBodySchema, pipelineHealthSchema } from "@adpipe/api-contract";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import { knownCaller } from "../auth.js";
import type { ApiDeps } from "../context.js";
import { dependency } from "../dependency.js";
import { PUBLIC_ROUTE } from "../route-config.js";
import { apiQueries } from "../sql.js";

const CHECK_TIMEOUT_MS = 1_000;

const checkSchema = z.object({ ok: z.boolean(), error: z.string().optional(), ms: z.number() });
const readinessSchema = z.object({
  status: z.enum(["ready", "not_ready"]),
  checks: z
    .record(z.string(), checkSchema)
    .optional()
    .describe(
      "per dependency, with the driver's reason when it failed: only for callers with a read or write token",
    ),
});

async function runCheck(check: () => Promise<unknown>): Promise<z.output<typeof checkSchema>> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true, ms: Math.round(performance.now() - started) };
  } catch (error) {
    // The first line of the reason only (driver messages carry host names, never credentials); shown only to
    // callers with a token.
    const reason = error instanceof Error ? (error.message.split("\n")[0] ?? "").slice(0, 200) : "failed";
    return { ok: false, error: reason, ms: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

export function opsRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const checks = {
    redis: () => deps.redis.ping(),
    postgres: () => deps.pool.query(apiQueries.prepared("ping", [])),
  };

  /** Anonymous callers (load balancers, anyone) learn the status only; the checks need a read or write token. */
  const readiness = async (names: readonly (keyof typeof checks)[], authorization: string | undefined) => {
    const outcomes = await Promise.all(names.map((name) => runCheck(checks[name])));
    const ready = outcomes.every((outcome) => outcome.ok);
    const status = ready ? ("ready" as const) : ("not_ready" as const);
    if (knownCaller(deps, authorization) === null) return { ready, body: { status } };
    return {
      ready,
      body: { status, checks: Object.fromEntries(names.map((name, i) => [name, outcomes[i]!])) },
    };
  };

  return async (app) => {
    app.get(
      "/healthz",
      {
        config: PUBLIC_ROUTE,
        schema: {
          tags: ["ops"],
          summary: "Liveness: the process answers",
          response: { 200: z.object({ status: z.literal("ok") }) },
        },
      },
      async () => ({ status: "ok" as const }),
    );

    app.get(
      "/readyz",
      {
        config: PUBLIC_ROUTE,
        schema: {
          tags: ["ops"],
          summary:
            "Readiness: Redis and Postgres answer (503 otherwise; with a token, checks names the one that does not)",
          response: { 200: readinessSchema, 503: readinessSchema },
        },
      },
      async (request, reply) => {
        const { ready, body } = await readiness(["redis", "postgres"], request.headers.authorization);
        reply.code(ready ? 200 : 503);
        return body;
      },
    );

    app.get(
      "/readyz/serving",
      {
        config: PUBLIC_ROUTE,
        schema: {
          tags: ["ops"],
          summary: "Readiness of serving lookups only (Redis): keep ad-server traffic while Postgres is down",
          response: { 200: readinessSchema, 503: readinessSchema },
        },
      },
      async (request, reply) => {
        const { ready, body } = await readiness(["redis"], request.headers.authorization);
        reply.code(ready ? 200 : 503);
        return body;
      },
    );

    app.get(
      "/metrics",
      {
        config: PUBLIC_ROUTE,
        schema: { tags: ["ops"], summary: "Prometheus metrics (text exposition format)" },
      },
      async (_request, reply) => {
        const text = await deps.registry.metrics();
        reply.header("content-type", deps.registry.contentType);
        return text;
      },
    );

    app.get(
      "/v1/pipeline/health",
      {
        schema: {
          tags: ["ops"],
          summary:
            "Pipeline health for the dashboard: topic events/s, consumer lag, Gold freshness, detected topic resets",
          response: { 200: pipelineHealthSchema, 401: errorBodySchema, 503: errorBodySchema },
        },
      },
      async (request) => {
        const health = await dependency("kafka", () => deps.pipelineHealth.snapshot());
        // With API_PUBLIC_READS an anonymous caller sees which dependency failed, not the driver's words.
        if (request.identity !== null) return health;
        return { ...health, errors: health.errors.map((error) => `${error.split(":")[0]}: unavailable`) };
      },
    );
  };
}
