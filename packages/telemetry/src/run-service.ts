import type { Logger } from "./logger.js";

/** What a started service hands back to the process lifecycle. */
export interface RunningService {
  /** Stops gracefully: finishes the batch or requests in flight, closes connections. */
  stop(): Promise<void>;
  /** Settles when the service ends by itself; a rejection means it gave up (e.g. the consumer crashed for good). */
  done?: () => Promise<void>;
  /** Where lifecycle lines go; stderr JSON-free lines when absent. */
  logger?: Logger;
}

export interface RunServiceOptions<Config> {
  /** Name used in messages on stderr. */
  name: string;
  /** Reads and validates configuration; a ConfigError-like error (one with `variable`) exits 2. */
  loadConfig: () => Config;
  start: (config: Config) => Promise<RunningService>;
}

/** Process exit codes shared by every service: documented in docs/operations.md. */
export const SERVICE_EXIT = { ok: 0, failure: 1, badConfig: 2 } as const;

function isConfigError(error: unknown): boolean {
  return error instanceof Error && error.name === "ConfigError";
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The whole life of a service process, identical for every service: load config (exit 2 when it is bad, also
 * when start() finds it bad),
 * start, stop gracefully on SIGTERM/SIGINT (exit 0), exit 1 when the service gives up or fails to start.
 * A second signal while stopping does not interrupt the graceful stop: Kubernetes sends SIGKILL after its
 * grace period anyway.
 */
export function runService<Config>(options: RunServiceOptions<Config>): void {
  const fail = (stage: string, error: unknown): never => {
    process.stderr.write(`${options.name}: ${stage}: ${describe(error)}\n`);
    process.exit(SERVICE_EXIT.failure);
  };

  let config: Config;
  try {
    config = options.loadConfig();
  } catch (error) {
    if (!isConfigError(error)) fail("configuration could not be loaded", error);
    process.stderr.write(`${options.name}: ${describe(error)}\n`);
    process.exit(SERVICE_EXIT.badConfig);
  }

  // Signal handlers go in before start: a SIGTERM while the service is still starting (a rollout that changes
  // its mind, a test) is honoured once start completes, instead of killing the process mid-connect.
  let service: RunningService | undefined;
  let stopping = false;
  let pendingSignal: string | undefined;
  const shutdown = (signal: string): void => {
    if (service === undefined) {
      pendingSignal ??= signal;
      return;
    }
    if (stopping) return;
    stopping = true;
    const started = service;
    started.logger?.info({ signal }, "shutting down: finishing work in flight");
    started
      .stop()
      .then(() => process.exit(SERVICE_EXIT.ok))
      .catch((error: unknown) => {
        started.logger?.error({ err: error }, "shutdown failed");
        process.exit(SERVICE_EXIT.failure);
      });
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  options
    .start(config)
    .then((started) => {
      service = started;
      started.done?.().catch((error: unknown) => {
        started.logger?.error({ err: error }, "service gave up");
        void started.stop().finally(() => process.exit(SERVICE_EXIT.failure));
      });
      if (pendingSignal !== undefined) shutdown(pendingSignal);
    })
    .catch((error: unknown) => {
      // Configuration a service can only judge while starting (a file it reads, a combination of settings)
      // is still bad configuration: exit 2 like a bad variable, not 1 like an outage.
      if (!isConfigError(error)) fail("failed to start", error);
      process.stderr.write(`${options.name}: ${describe(error)}\n`);
      process.exit(SERVICE_EXIT.badConfig);
    });
}
