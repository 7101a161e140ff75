import { runService } from "@adpipe/telemetry";
import { loadAlerterConfig } from "./config.js";
import { startAlerterService } from "./service.js";

/** Exit codes (runService): 0 clean stop, 1 failure, 2 bad configuration. */
runService({
  name: "alerter",
  loadConfig: () => loadAlerterConfig(),
  start: async (config) => {
    const service = await startAlerterService(config);
    return { logger: service.logger, stop: () => service.stop(), done: () => service.done() };
  },
});
