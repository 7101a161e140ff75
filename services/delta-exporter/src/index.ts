export {
  type DeltaExporterConfig,
  type DeltaExporterEnv,
  deltaExporterEnvSchema,
  loadDeltaExporterConfig,
} from "./config.js";
export { createExporterMetrics, type ExporterMetrics } from "./metrics.js";
export { type DeltaExporterService, startDeltaExporterService } from "./service.js";
