import { readFile } from "node:fs/promises";
import { dashboardConfigSchema } from "@adpipe/api-contract";
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import { z } from "zod";
import type { ApiDeps } from "../context.js";
import { ApiError } from "../errors.js";
import { PUBLIC_ROUTE } from "../route-config.js";

/**
 * The only files served, by name: a Map, so a name like `__proto__` or `constructor` is simply not in it (a plain
 * object's lookup would walk the prototype). No path from a request ever reaches the file system.
 */
const ASSETS: ReadonlyMap<string, string> = new Map([
  ["app.js", "text/javascript; charset=utf-8"],
  ["app.js.map", "application/json; charset=utf-8"],
  ["app.css", "text/css; charset=utf-8"],
]);

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** Serves the "Advertiser Spend Overview" page built by `npm run build:web` (esbuild, chart.js bundled). */
export function dashboardRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const files = new Map<string, Buffer>();
  const load = async (name: string): Promise<Buffer> => {
    const cached = files.get(name);
    if (cached !== undefined) return cached;
    try {
      const content = await readFile(new URL(name, deps.dashboardDir));
      files.set(name, content);
      return content;
    } catch (error) {
      throw new ApiError(
        "dependency_unavailable",
        "the dashboard is not built: run npm run build:web -w @adpipe/api",
        {
          cause: error,
        },
      );
    }
  };

  return async (app) => {
    app.get("/", { config: PUBLIC_ROUTE, schema: { hide: true } }, async (_request, reply) => {
      const html = await load("index.html");
      reply.headers({
        ...SECURITY_HEADERS,
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-cache",
      });
      return reply.send(html);
    });

    app.get(
      "/assets/:file",
      { config: PUBLIC_ROUTE, schema: { hide: true, params: z.object({ file: z.string().max(64) }) } },
      async (request, reply) => {
        const type = ASSETS.get(request.params.file);
        if (type === undefined) throw new ApiError("not_found", "no such asset");
        const content = await load(request.params.file);
        reply.headers({ ...SECURITY_HEADERS, "content-type": type, "cache-control": "no-cache" });
        return reply.send(content);
      },
    );

    app.get(
      "/dashboard/config.json",
      {
        config: PUBLIC_ROUTE,
        schema: {
          hide: true,
          response: { 200: dashboardConfigSchema },
        },
      },
      async () => ({ refresh_ms: deps.dashboardRefreshMs, read_token_required: !deps.publicReads }),
    );
  };
}
