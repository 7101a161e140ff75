import { runService } from "@adpipe/telemetry";
import { loadApiConfig } from "./config.js";
import { createApi } from "./runtime.js";

runService({
  name: "api",
  loadConfig: () => loadApiConfig(),
  start: async (config) => {
    const api = await createApi(config);
    const url = await api.listen();
    api.app.log.info({ url }, "api listening");
    return { logger: api.app.log, stop: () => api.close() };
  },
});
