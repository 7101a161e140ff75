import type { AuthLevel } from "./auth.js";
import type { ApiLimits } from "./context.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Who may call the route (see AuthLevel); routes that declare nothing need a read token. */
    auth?: AuthLevel;
  }
}

/** Route config of the probes, metrics, the API description and the dashboard shell: no token. */
export const PUBLIC_ROUTE: { auth: AuthLevel } = { auth: "public" };

/** Route config of every write: needs a write token; rate limited per caller when a limit is set. */
export function writeRouteConfig(limits: ApiLimits): {
  auth: "write";
  rateLimit?: { max: number; timeWindow: number };
} {
  return limits.writeRateLimitPerMinute > 0
    ? { auth: "write", rateLimit: { max: limits.writeRateLimitPerMinute, timeWindow: 60_000 } }
    : { auth: "write" };
}
