import { ConfigError } from "@adpipe/config";
import { loadApiConfig } from "./config.js";
import { createApi } from "./runtime.js";

/** `node dist/main.js`: configuration from the environment, SIGTERM/SIGINT drain and exit. */
async function main(): Promise<void> {
  const config = loadApiConfig();
  const api = await createApi(config);
  const url = await api.listen();
  api.app.log.info({ url }, "api listening");
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    api.app.log.info({ signal }, "shutting down");
    api
      .close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        api.app.log.error({ err: error }, "shutdown failed");
        process.exit(1);
      });
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`api failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
