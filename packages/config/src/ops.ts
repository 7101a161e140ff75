import { z } from "zod";
import { envVar } from "./env.js";

/** pino's levels, "silent" included. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** LOG_LEVEL: what a service logs (default info). */
export const logEnvSchema = z.object({
  LOG_LEVEL: z.enum(LOG_LEVELS).default("info"),
});
export type LogEnv = z.output<typeof logEnvSchema>;

/**
 * The operations settings of a long-running service: where it serves /healthz, /readyz and /metrics
 * (OPS_PORT, 0 = any free port; OPS_HOST) and LOG_LEVEL. Each service has its own default port, so that
 * several run side by side on one machine.
 */
export function opsEnvSchema(defaultPort: number) {
  return z.object({
    OPS_PORT: envVar.integer(0, 65_535).default(defaultPort),
    OPS_HOST: z.string().default("0.0.0.0"),
    ...logEnvSchema.shape,
  });
}
export type OpsEnv = z.output<ReturnType<typeof opsEnvSchema>>;
