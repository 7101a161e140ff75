import type { ApiLimits } from "./context.js";

/** Route config of every write: needs a write token; rate limited per caller when a limit is set. */
export function writeRouteConfig(limits: ApiLimits): {
  write: true;
  rateLimit?: { max: number; timeWindow: number };
} {
  return limits.writeRateLimitPerMinute > 0
    ? { write: true, rateLimit: { max: limits.writeRateLimitPerMinute, timeWindow: 60_000 } }
    : { write: true };
}
