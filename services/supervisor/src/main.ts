import { ConfigError, redact } from "@adpipe/config";
import { KafkaError } from "@adpipe/kafka";
import { CommanderError } from "commander";
import { SupervisorError } from "./errors.js";
import { LinePrinter } from "./log-lines.js";
import {
  type CliOptions,
  parseSupervisorOptions,
  type RawSupervisorOptions,
  supervisorCommand,
} from "./options.js";
import { describeState, LocalPipeline } from "./pipeline.js";
import { busyPorts } from "./ports.js";
import { acquireRunLock, defaultRunLockPath, type RunRecord } from "./run-lock.js";

/** Exit codes, as adpipe's: 0 ok, 1 a service failed, 2 usage/config, 69 unavailable, 70 internal. */
const EXIT = { ok: 0, failed: 1, usage: 2, unavailable: 69, internal: 70 } as const;

function exitCodeOf(error: unknown): number {
  if (error instanceof ConfigError) return EXIT.usage;
  if (error instanceof SupervisorError) {
    const codes = {
      ADP_SUPERVISOR_INVALID_OPTIONS: EXIT.usage,
      ADP_SUPERVISOR_NOT_BUILT: EXIT.usage,
      ADP_SUPERVISOR_BROKER_UNAVAILABLE: EXIT.unavailable,
      ADP_SUPERVISOR_INFRASTRUCTURE_UNAVAILABLE: EXIT.unavailable,
      ADP_SUPERVISOR_SERVICE_FAILED: EXIT.failed,
      ADP_SUPERVISOR_NOT_READY: EXIT.failed,
    } as const satisfies Record<SupervisorError["code"], number>;
    return codes[error.code];
  }
  if (error instanceof KafkaError) return EXIT.unavailable;
  return EXIT.internal;
}

async function run(raw: RawSupervisorOptions): Promise<number> {
  const options = parseSupervisorOptions(raw);
  // Before anything starts or is printed: a second supervisor for the same dashboard port stops here.
  const dashboardUrl = `http://127.0.0.1:${options.apiPort}/`;
  const lock = acquireRunLock(
    process.env.ADPIPE_START_LOCK_FILE || defaultRunLockPath(options.apiPort),
    dashboardUrl,
  );
  if (!lock.acquired) {
    const { holder } = lock;
    process.stderr.write(
      `adpipe-start: already running (pid ${holder.pid}, dashboard ${holder.dashboardUrl}, started ${holder.startedAt} in ${holder.cwd}).\n` +
        `Stop it with Ctrl-C in its terminal (or kill ${holder.pid}), or run another pipeline with other --api-port, --ops-port-base, --topic and --group-prefix.\n`,
    );
    return EXIT.usage;
  }
  // Also on process.exit (a second Ctrl-C kills at once): the release is synchronous.
  process.on("exit", lock.release);
  try {
    return await runLocked(options, lock.staleHolder);
  } finally {
    lock.release();
  }
}

async function runLocked(options: CliOptions, staleHolder: RunRecord | undefined): Promise<number> {
  const colors = !options.headless && process.stdout.isTTY === true;
  const printer = new LinePrinter(
    { format: options.logFormat, colors, write: (text) => process.stdout.write(text) },
    ["supervisor", "kafka", "infra", "ingestor", "budget-tracker", "api", "alerter", "simulator"],
  );
  const secrets = [
    process.env.EVENT_HUB_CONNECTION_STRING,
    process.env.KAFKA_SASL_PASSWORD,
    process.env.AZURE_CLIENT_SECRET,
  ];
  const pipeline = new LocalPipeline(options, {
    env: process.env,
    onLine: (name, line) => printer.print(name, redact(line, secrets)),
  });
  const say = (line: string) => printer.print("supervisor", line);
  if (staleHolder !== undefined) {
    say(
      `took over the run lock of pid ${staleHolder.pid}, which is no longer running (started ${staleHolder.startedAt})`,
    );
  }
  const taken = await busyPorts([
    { name: "--api-port", port: options.apiPort, host: process.env.API_HOST || "127.0.0.1" },
    { name: "--ops-port-base (ingestor)", port: options.opsPortBase, host: "127.0.0.1" },
    { name: "--ops-port-base +1 (budget-tracker)", port: options.opsPortBase + 1, host: "127.0.0.1" },
    { name: "--ops-port-base +3 (alerter)", port: options.opsPortBase + 3, host: "127.0.0.1" },
    ...(options.simulator
      ? [{ name: "--ops-port-base +2 (simulator)", port: options.opsPortBase + 2, host: "127.0.0.1" }]
      : []),
  ]);
  if (taken.length > 0) {
    say(
      `cannot run the pipeline: ${taken.map((t) => `port ${t.port} (${t.name})`).join(", ")} ${taken.length === 1 ? "is" : "are"} in use by another program; choose free ports with --api-port / --ops-port-base`,
    );
    return EXIT.usage;
  }

  // Whatever happens, no child outlives the supervisor process (short of SIGKILL to the supervisor itself).
  process.on("exit", () => pipeline.killNow());
  // A Ctrl-C also ends a pager or `| tee` reading our output: losing the terminal must not cut the shutdown short.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => undefined);
  let stopReason: string | undefined;
  let wake: (() => void) | undefined;
  const stopRequested = new Promise<void>((resolve) => {
    wake = resolve;
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopReason !== undefined) {
      say(`${signal} again: killing everything now`);
      pipeline.killNow();
      process.exit(130);
    }
    stopReason = signal;
    wake?.();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  let code: number = EXIT.ok;
  try {
    const starting = pipeline.start();
    // A signal during start-up stops the start-up too.
    const outcome = await Promise.race([
      starting.then(() => "started" as const),
      stopRequested.then(() => "stopped" as const),
    ]);
    if (outcome === "started" && pipeline.state !== undefined) {
      if (!options.headless) process.stdout.write(`${describeState(pipeline.state, options)}\n`);
      else say(`ready: dashboard ${pipeline.state.dashboardUrl}, topic ${pipeline.state.topic}`);
      const timer =
        options.durationMs === undefined
          ? undefined
          : setTimeout(() => onSignal("SIGTERM"), options.durationMs);
      const ended = await Promise.race([stopRequested.then(() => undefined), pipeline.failed]);
      if (timer !== undefined) clearTimeout(timer);
      if (ended !== undefined) code = EXIT.failed;
    } else {
      await starting.catch(() => undefined);
    }
    say(
      stopReason === undefined
        ? "stopping everything (a service failed)"
        : `${stopReason}: stopping everything`,
    );
  } catch (error) {
    code = exitCodeOf(error);
    say(
      `cannot run the pipeline: ${redact(error instanceof Error ? error.message : String(error), secrets)}`,
    );
  } finally {
    await pipeline.stop();
    say("stopped");
  }
  return code;
}

const command = supervisorCommand().exitOverride();
command.action(async (raw: RawSupervisorOptions) => {
  process.exitCode = await run(raw);
});
command.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    process.exitCode = ["commander.helpDisplayed", "commander.version", "commander.help"].includes(error.code)
      ? EXIT.ok
      : EXIT.usage;
    return;
  }
  process.stderr.write(`adpipe-start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = exitCodeOf(error);
});
