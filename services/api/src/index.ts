export { spendStorePauseControl } from "./adapters/pauses.js";
export {
  createPipelineHealth,
  type PipelineHealthMonitor,
  type PipelineHealthOptions,
} from "./adapters/pipeline-health.js";
export { createKafkaPublisher, type KafkaPublisher } from "./adapters/publisher.js";
export {
  API_VERSION,
  type ApiApp,
  buildApp,
  DEFAULT_BODY_LIMIT_BYTES,
  MAX_PARAM_LENGTH,
  type RouteEntry,
} from "./app.js";
export {
  AUTH_LEVELS,
  type AuthLevel,
  bearerToken,
  DEFAULT_AUTH_LEVEL,
  parseTokenList,
  type TokenSet,
} from "./auth.js";
export {
  type ApiConfig,
  type ApiSettings,
  apiEnvSchema,
  apiSettingsSchema,
  loadApiConfig,
} from "./config.js";
export type { ApiDeps, ApiLimits } from "./context.js";
export { API_ERROR_CODES, ApiError, type ApiErrorCode } from "./errors.js";
export type {
  ConsumerGroupLag,
  EventPublisher,
  PauseControl,
  PipelineHealth,
  PipelineHealthSource,
  PublishRecord,
} from "./ports.js";
export { REPORTS, type ReportDefinition } from "./reports/definitions.js";
export {
  type ApiRuntime,
  type ApiRuntimeOptions,
  createApi,
  DEFAULT_DASHBOARD_DIR,
  DEFAULT_LAG_GROUPS,
} from "./runtime.js";
