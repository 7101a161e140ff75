import { runService } from "@adpipe/telemetry";
import { loadIngestorConfig } from "./config.js";
import { startIngestorService } from "./service.js";

runService({
  name: "ingestor",
  loadConfig: () => loadIngestorConfig(),
  start: async (config) => {
    const service = await startIngestorService(config);
    return { logger: service.logger, stop: () => service.stop(), done: () => service.ingestor.done() };
  },
});
