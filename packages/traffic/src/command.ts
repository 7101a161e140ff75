import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import {
  ConfigError,
  type Env,
  kafkaConnectionFromEnv,
  kafkaEnvSchema,
  parseEnv,
  parseEventHubsConnectionString,
  redact,
} from "@adpipe/config";
import { createKafka, KafkaError } from "@adpipe/kafka";
import { createMetricsRegistry, type OpsServer, startOpsServer } from "@adpipe/telemetry";
import { Command } from "commander";
import { Counter, Gauge } from "prom-client";
import { SimulatorError } from "./errors.js";
import {
  addSimulatorOptions,
  parseSimulatorOptions,
  type RawSimulatorOptions,
  type SimulatorOptions,
} from "./options.js";
import type { SimulationManifest } from "./plan.js";
import { createProgressReporter } from "./progress.js";
import { runSimulation, type SimulationResult } from "./simulate.js";
import { EventHubsSdkSink } from "./sinks/event-hubs-sdk-sink.js";
import { KafkaSink } from "./sinks/kafka-sink.js";
import { NativeKafkaSink, supportsNativeProduce } from "./sinks/native/native-kafka-sink.js";
import type { RecordSink } from "./sinks/sink.js";
import { averageRate, formatBytes, formatCount, formatKinds } from "./stats.js";

/** Exit codes, the same as adpipe's (docs/operations.md): 0 ok, 1 failed, 2 usage/config, 69 unavailable, 70 internal. */
export const SIMULATOR_EXIT = { ok: 0, failed: 1, usage: 2, unavailable: 69, internal: 70 } as const;

export interface CliIo {
  env: Env;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream;
  /** Aborted on SIGINT/SIGTERM by the caller. */
  signal?: AbortSignal;
}

/** Builds the sink the options and environment ask for (not yet connected). */
export function createSink(options: SimulatorOptions, env: Env): RecordSink {
  if (options.transport === "event-hubs-sdk") {
    const parsed = parseEnv(kafkaEnvSchema, env);
    if (!parsed.ok) throw new ConfigError("invalid_env", parsed.issues);
    if (parsed.value.EVENT_HUB_NAMESPACE !== undefined) {
      // The same checks (and the same credential) as the Kafka path.
      const connection = kafkaConnectionFromEnv(env, { clientId: "adpipe-simulator" });
      return new EventHubsSdkSink(
        {
          namespace: parsed.value.EVENT_HUB_NAMESPACE,
          ...(connection.oauth ? { auth: connection.oauth.auth } : {}),
        },
        options.topic ?? connection.topic,
      );
    }
    const connectionString = parsed.value.EVENT_HUB_CONNECTION_STRING;
    if (connectionString === undefined) {
      throw new ConfigError("invalid_env", [
        {
          variable: "EVENT_HUB_CONNECTION_STRING",
          message: "required by --transport event-hubs-sdk (or EVENT_HUB_NAMESPACE with AZURE_AUTH)",
        },
      ]);
    }
    const hub =
      options.topic ??
      parsed.value.EVENT_HUB_NAME ??
      parsed.value.KAFKA_TOPIC ??
      parseEventHubsConnectionString(connectionString).entityPath;
    if (hub === undefined) {
      throw new ConfigError("invalid_env", [
        {
          variable: "KAFKA_TOPIC",
          message: "name the event hub (KAFKA_TOPIC, --topic or EntityPath in the connection string)",
        },
      ]);
    }
    return new EventHubsSdkSink(connectionString, hub);
  }
  const connection = kafkaConnectionFromEnv(env, { clientId: "adpipe-simulator" });
  const kafka = createKafka(connection);
  const native =
    options.producer === "native" ||
    (options.producer === "auto" &&
      options.max &&
      options.compression === "none" &&
      supportsNativeProduce(connection));
  if (native) {
    return new NativeKafkaSink(kafka, {
      topic: options.topic ?? connection.topic,
      acks: options.acks,
      ...(options.createPartitions === undefined ? {} : { createPartitions: options.createPartitions }),
    });
  }
  return new KafkaSink(kafka, {
    topic: options.topic ?? connection.topic,
    acks: options.acks,
    compression: options.compression,
    ...(options.createPartitions === undefined ? {} : { createPartitions: options.createPartitions }),
  });
}

export function manifestOf(
  result: SimulationResult,
  options: SimulatorOptions,
  finishedAtMs: number,
): SimulationManifest {
  return {
    version: 1,
    topic: result.topic,
    transport: options.transport,
    generator: result.generator,
    sent: result.stats.sent,
    startedAt: new Date(result.stats.startedAtMs).toISOString(),
    finishedAt: new Date(finishedAtMs).toISOString(),
  };
}

/** Written atomically, so a reader never sees half a manifest. */
export async function writeManifest(path: string, manifest: SimulationManifest): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(temporary, path);
}

export function formatSummary(result: SimulationResult, options: SimulatorOptions): string {
  const { stats } = result;
  const seconds = (stats.elapsedMs / 1_000).toFixed(1);
  return [
    `simulated ${formatCount(stats.sent)} events in ${seconds} s: ${formatCount(averageRate(stats))} events/s (${options.max ? "as fast as possible" : `target ${formatCount(options.rate ?? 0)}/s`}), stopped by ${result.stoppedBy}`,
    `  to      ${result.sink}`,
    `  kinds   ${formatKinds(stats.byKind) || "none"}`,
    `  bytes   ${formatBytes(stats.bytes)} of values`,
    `  replay  --seed ${options.seed} --run-id ${options.runId} --start ${result.generator.startMs} (same options)`,
  ].join("\n");
}

export function summaryJson(result: SimulationResult, options: SimulatorOptions): Record<string, unknown> {
  return {
    sent: result.stats.sent,
    bytes: result.stats.bytes,
    byKind: result.stats.byKind,
    elapsedMs: result.stats.elapsedMs,
    eventsPerSecond: Math.round(averageRate(result.stats)),
    stoppedBy: result.stoppedBy,
    topic: result.topic,
    sink: result.sink,
    seed: options.seed,
    runId: options.runId,
    startMs: result.generator.startMs,
  };
}

/** Maps an error to an exit code and a message with no secret in it. */
export function describeFailure(error: unknown, env: Env): { code: number; message: string } {
  const secrets = [env.EVENT_HUB_CONNECTION_STRING, env.KAFKA_SASL_PASSWORD];
  const message = redact(error instanceof Error ? error.message : String(error), secrets);
  if (error instanceof ConfigError) return { code: SIMULATOR_EXIT.usage, message };
  if (error instanceof SimulatorError) {
    const codes = {
      ADP_TRAFFIC_INVALID_OPTIONS: SIMULATOR_EXIT.usage,
      ADP_TRAFFIC_SINK_UNAVAILABLE: SIMULATOR_EXIT.unavailable,
      ADP_TRAFFIC_SEND_FAILED: SIMULATOR_EXIT.unavailable,
      ADP_TRAFFIC_WORKER_FAILED: SIMULATOR_EXIT.internal,
    } as const satisfies Record<SimulatorError["code"], number>;
    return { code: codes[error.code], message };
  }
  if (error instanceof KafkaError) return { code: SIMULATOR_EXIT.unavailable, message };
  return { code: SIMULATOR_EXIT.internal, message };
}

async function startMetrics(port: number, sink: RecordSink) {
  const registry = createMetricsRegistry("simulator");
  const events = new Counter({
    name: "simulator_events_total",
    help: "Records acknowledged by the broker, by generated kind",
    labelNames: ["kind"],
    registers: [registry],
  });
  const rate = new Gauge({
    name: "simulator_events_per_second",
    help: "Average events per second of the run",
    registers: [registry],
  });
  const server: OpsServer = await startOpsServer({ port, registry, checks: { sink: async () => undefined } });
  const seen: Record<string, number> = {};
  return {
    server,
    sink,
    record(result: { byKind: Record<string, number>; rate: number }) {
      for (const [kind, count] of Object.entries(result.byKind)) {
        const delta = count - (seen[kind] ?? 0);
        if (delta > 0) events.inc({ kind }, delta);
        seen[kind] = count;
      }
      rate.set(result.rate);
    },
  };
}

/** Runs one simulation from raw CLI options and the environment; returns the exit code. */
export async function runSimulatorCli(raw: RawSimulatorOptions, io: CliIo): Promise<number> {
  let metrics: Awaited<ReturnType<typeof startMetrics>> | undefined;
  let sink: RecordSink | undefined;
  try {
    const options = parseSimulatorOptions(raw);
    const opsPort =
      options.opsPort ??
      (io.env.OPS_PORT === undefined || io.env.OPS_PORT === "" ? undefined : Number(io.env.OPS_PORT));
    if (opsPort !== undefined && !(Number.isInteger(opsPort) && opsPort >= 0 && opsPort <= 65_535)) {
      throw new ConfigError("invalid_env", [{ variable: "OPS_PORT", message: "expected a port number" }]);
    }
    sink = createSink(options, io.env);
    await sink.connect();
    if (opsPort !== undefined) metrics = await startMetrics(opsPort, sink);
    io.stderr.write(
      `simulator: producing to ${sink.description} (seed ${options.seed}, run ${options.runId})\n`,
    );
    const reporter = createProgressReporter({
      mode: options.progress,
      total: options.count,
      durationMs: options.durationMs,
      stream: io.stderr,
    });
    const result = await runSimulation({
      options,
      sink,
      ...(io.signal === undefined ? {} : { signal: io.signal }),
      onProgress: (stats) => {
        reporter.update(stats);
        metrics?.record({ byKind: stats.byKind, rate: averageRate(stats) });
      },
    });
    reporter.stop(result.stats);
    if (options.manifest !== undefined)
      await writeManifest(options.manifest, manifestOf(result, options, Date.now()));
    io.stdout.write(
      options.json
        ? `${JSON.stringify(summaryJson(result, options))}\n`
        : `${formatSummary(result, options)}\n`,
    );
    return SIMULATOR_EXIT.ok;
  } catch (error) {
    const { code, message } = describeFailure(error, io.env);
    io.stderr.write(`simulator: ${message}\n`);
    return code;
  } finally {
    await sink?.close().catch(() => undefined);
    await metrics?.server.close().catch(() => undefined);
  }
}

/** The `simulate` command: the simulator's own CLI and `adpipe simulate`. */
export function simulateCommand(name = "simulate"): Command {
  const command = new Command(name).description(
    "Produce a realistic click stream (core's deterministic generator) to Kafka, Event Hubs' Kafka endpoint or the Event Hubs SDK",
  );
  addSimulatorOptions(command);
  command.addHelpText(
    "after",
    `
Connection from the environment: KAFKA_BROKERS (default 127.0.0.1:9092) or EVENT_HUB_CONNECTION_STRING,
KAFKA_TOPIC (default: the connection string's EntityPath, else ad-clicks), OPS_PORT (optional metrics).

Examples:
  simulate --rate 50                               a gentle endless stream (Ctrl-C prints the summary)
  simulate --max --count 1000000 --partitions 8    a million events as fast as possible
  simulate --rate 200 --duration 5m --advertisers 100 --zipf 1.3 --duplicates 0.1
  simulate --transport event-hubs-sdk --count 1000 (EVENT_HUB_CONNECTION_STRING of an Azure namespace)`,
  );
  command.action(async (raw: RawSimulatorOptions) => {
    const controller = new AbortController();
    let signals = 0;
    const onSignal = () => {
      signals++;
      // First Ctrl-C: stop producing, finish the sends in flight, print the summary. Second: exit now.
      if (signals > 1) process.exit(130);
      controller.abort();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    try {
      process.exitCode = await runSimulatorCli(raw, {
        env: process.env,
        stdout: process.stdout,
        stderr: process.stderr,
        signal: controller.signal,
      });
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
  });
  return command;
}
