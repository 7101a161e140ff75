import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiDeps } from "../context.js";
import { dependency } from "../dependency.js";
import { errorBodySchema, pipelineHealthSchema } from "../schemas.js";
import { namedQuery } from "../sql.js";

const CHECK_TIMEOUT_MS = 1_000;

const checkSchema = z.object({ ok: z.boolean(), error: z.string().optional(), ms: z.number() });
const readinessSchema = z.object({
  status: z.enum(["ready", "not_ready"]),
  checks: z.record(z.string(), checkSchema),
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
    // The reason only: driver messages can carry host names, never credentials, but keep it short.
    const reason = error instanceof Error ? error.message.slice(0, 200) : "failed";
    return { ok: false, error: reason, ms: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

export function opsRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const checks = {
    redis: () => deps.redis.ping(),
    postgres: () => deps.pool.query(namedQuery("ping")),
  };

  const readiness = async (names: readonly (keyof typeof checks)[]) => {
    const outcomes = await Promise.all(names.map((name) => runCheck(checks[name])));
    const report = Object.fromEntries(names.map((name, i) => [name, outcomes[i]!]));
    const ready = outcomes.every((outcome) => outcome.ok);
    return { ready, body: { status: ready ? ("ready" as const) : ("not_ready" as const), checks: report } };
  };

  return async (app) => {
    app.get(
      "/healthz",
      {
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
        schema: {
          tags: ["ops"],
          summary: "Readiness: Redis and Postgres answer (503 names the one that does not)",
          response: { 200: readinessSchema, 503: readinessSchema },
        },
      },
      async (_request, reply) => {
        const { ready, body } = await readiness(["redis", "postgres"]);
        reply.code(ready ? 200 : 503);
        return body;
      },
    );

    app.get(
      "/readyz/serving",
      {
        schema: {
          tags: ["ops"],
          summary: "Readiness of serving lookups only (Redis): keep ad-server traffic while Postgres is down",
          response: { 200: readinessSchema, 503: readinessSchema },
        },
      },
      async (_request, reply) => {
        const { ready, body } = await readiness(["redis"]);
        reply.code(ready ? 200 : 503);
        return body;
      },
    );

    app.get(
      "/metrics",
      { schema: { tags: ["ops"], summary: "Prometheus metrics (text exposition format)" } },
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
          summary: "Pipeline health for the dashboard: topic events/s, consumer lag, Gold freshness",
          response: { 200: pipelineHealthSchema, 401: errorBodySchema, 503: errorBodySchema },
        },
      },
      async () => dependency("kafka", () => deps.pipelineHealth.snapshot()),
    );
  };
}
