import { ConfigError } from "@adpipe/config";
import { loadIngestorConfig } from "./config.js";
import { startIngestorService } from "./service.js";

/** Exit codes: 0 clean stop, 2 bad configuration, 1 failure. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadIngestorConfig>;
  try {
    config = loadIngestorConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const service = await startIngestorService(config);
  let shuttingDown = false;
  const shutdown = (signal: string): void => {
    if (shuttingDown) return;
    shuttingDown = true;
    service.logger.info({ signal }, "shutting down: finishing the batch in flight");
    service
      .stop()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        service.logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      });
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
  service.ingestor.done().catch((error: unknown) => {
    service.logger.fatal({ err: error }, "consumer gave up");
    void service.stop().finally(() => process.exit(1));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`ingestor: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
