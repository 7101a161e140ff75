export { type BackoffOptions, backoffDelayMs } from "./backoff.js";
export {
  createLogger,
  type Logger,
  type LoggerOptions,
  type PinoLogger,
  silentLogger,
} from "./logger.js";
export { createMetricsRegistry } from "./metrics.js";
export { type OpsServer, type OpsServerOptions, type ReadinessCheck, startOpsServer } from "./ops-server.js";
export { pauseUnlessAborted } from "./pause.js";
export { type Release, ResourceStack } from "./resource-stack.js";
export { type RunningService, type RunServiceOptions, runService, SERVICE_EXIT } from "./run-service.js";
