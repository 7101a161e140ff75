export { type IngestorConfig, type IngestorEnv, ingestorEnvSchema, loadIngestorConfig } from "./config.js";
export { type CommittedBatch, Ingestor, type IngestorOptions } from "./ingestor.js";
export { IngestorMetrics } from "./metrics.js";
export { type IngestorService, type StartOptions, startIngestorService } from "./service.js";
