import { LakeError } from "@adpipe/lake";
import { runService, SERVICE_EXIT } from "@adpipe/telemetry";
import { loadDeltaExporterConfig } from "./config.js";
import { startDeltaExporterService } from "./service.js";

/** Exit codes (runService): 0 clean stop or a successful pass in once mode, 1 failure, 2 bad configuration. */
runService({
  name: "delta-exporter",
  loadConfig: () => loadDeltaExporterConfig(),
  start: async (config) => {
    const service = await startDeltaExporterService(config);
    return {
      logger: service.logger,
      stop: () => service.stop(),
      done: async () => {
        const { failed } = await service.done();
        // once mode: a failed pass gives up (exit 1); a successful one ends the process here.
        if (failed) throw new LakeError("export_failed", "the export pass failed (see the log above)");
        if (config.env.DELTA_EXPORT_MODE === "once") {
          await service.stop();
          process.exit(SERVICE_EXIT.ok);
        }
      },
    };
  },
});
