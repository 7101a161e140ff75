export {
  type AlerterConfig,
  type AlerterEnv,
  alerterEnvSchema,
  DEFAULT_ALERT_TOPIC,
  loadAlerterConfig,
} from "./config.js";
export { type AlerterMetrics, createAlerterMetrics } from "./metrics.js";
export { type AlerterService, startAlerterService } from "./service.js";
