import { runService } from "@adpipe/telemetry";
import { loadTrackerConfig } from "./config.js";
import { startTrackerService } from "./service.js";

runService({
  name: "budget-tracker",
  loadConfig: () => loadTrackerConfig(),
  start: async (config) => {
    const service = await startTrackerService(config);
    return { logger: service.logger, stop: () => service.stop(), done: () => service.tracker.done() };
  },
});
