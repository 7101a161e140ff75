import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KafkaConnection } from "@adpipe/config";
import { createKafka, withAdmin } from "@adpipe/kafka";
import { logLevel } from "kafkajs";
import { runToCompletion } from "./child.js";
import { SupervisorError } from "./errors.js";
import { REPO_ROOT } from "./paths.js";

export type LineSink = (name: string, line: string) => void;

/** True when the brokers answer a metadata request within a few seconds. */
export async function kafkaAnswers(connection: KafkaConnection): Promise<boolean> {
  const kafka = createKafka(connection, {
    retry: { retries: 0 },
    connectionTimeout: 2_000,
    authenticationTimeout: 5_000,
    requestTimeout: 5_000,
    logLevel: logLevel.NOTHING,
  });
  try {
    await withAdmin(kafka, (admin) => admin.listTopics());
    return true;
  } catch {
    return false;
  }
}

/** Where scripts/kafka.sh puts the local broker: 127.0.0.1:KAFKA_PLAINTEXT_PORT (default 9092). */
export function localBrokerAddress(env: NodeJS.ProcessEnv): string {
  return `127.0.0.1:${env.KAFKA_PLAINTEXT_PORT || "9092"}`;
}

/** The local broker of scripts/kafka.sh is ours to start (and reset) only when the pipeline points at it. */
export function isLocalBroker(connection: KafkaConnection, env: NodeJS.ProcessEnv = {}): boolean {
  const port = localBrokerAddress(env).split(":")[1];
  return (
    connection.flavor === "kafka" &&
    connection.brokers.length === 1 &&
    [`127.0.0.1:${port}`, `localhost:${port}`].includes(connection.brokers[0] ?? "")
  );
}

export interface BrokerHandle {
  /** True when this supervisor started the broker (and so stops it at the end). */
  readonly started: boolean;
  /** True when Kafka is the local broker of scripts/kafka.sh (started here or not). */
  readonly local: boolean;
  stop(): Promise<void>;
}

export interface BrokerOptions {
  /** Start the local broker when nothing answers. */
  readonly allowStart: boolean;
  /** Delete the local broker's data first (scripts/kafka.sh reset). */
  readonly fresh: boolean;
  /** The supervisor's environment (KAFKA_PLAINTEXT_PORT, KAFKA_STATE_DIR, ... reach scripts/kafka.sh). */
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Makes sure Kafka answers: starts the local broker (scripts/kafka.sh) when the pipeline points at it and
 * nothing answers there. The broker keeps its data across runs; with `fresh` it is reset first. The broker
 * is recorded as owned by this process, so a broker left behind by a killed supervisor is recognised as stale
 * by the next start.
 */
export async function ensureBroker(
  connection: KafkaConnection,
  onLine: LineSink,
  options: BrokerOptions,
): Promise<BrokerHandle> {
  const local = isLocalBroker(connection, options.env);
  const address = localBrokerAddress(options.env);
  if (options.fresh) {
    if (!local || !options.allowStart) {
      throw new SupervisorError(
        "invalid_options",
        `--fresh resets the local broker (scripts/kafka.sh), but Kafka here is ${connection.brokers.join(",")}${options.allowStart ? "" : " and --no-start-broker is set"}`,
      );
    }
    onLine("supervisor", "--fresh: deleting the local broker's data (scripts/kafka.sh reset)");
    const code = await runScript(["scripts/kafka.sh", "reset"], options.env, onLine, "kafka");
    if (code !== 0)
      throw new SupervisorError("broker_unavailable", `scripts/kafka.sh reset failed (exit ${code})`);
    if (await kafkaAnswers(connection)) {
      throw new SupervisorError(
        "invalid_options",
        `--fresh: a broker not started from this checkout still answers at ${address}; stop it where it was started (scripts/kafka.sh stop there), or run without --fresh`,
      );
    }
  }
  if (await kafkaAnswers(connection)) {
    onLine(
      "supervisor",
      `Kafka answers at ${connection.brokers.join(",")}: using it as it is (this run neither starts nor stops it)`,
    );
    return { started: false, local, stop: async () => undefined };
  }
  if (!local || !options.allowStart) {
    throw new SupervisorError(
      "broker_unavailable",
      connection.flavor === "event-hubs"
        ? `the Event Hubs namespace ${connection.brokers.join(",")} does not answer (check ${connection.oauth ? "EVENT_HUB_NAMESPACE, AZURE_AUTH and the identity's Event Hubs roles" : "EVENT_HUB_CONNECTION_STRING"} and the network)`
        : `Kafka does not answer at ${connection.brokers.join(",")} (start it, or unset KAFKA_BROKERS to use the local broker)`,
    );
  }
  onLine(
    "supervisor",
    `no Kafka broker at ${address}: starting the local one (scripts/kafka.sh start; the first run downloads the jars)`,
  );
  const code = await runScript(
    ["scripts/kafka.sh", "start"],
    { ...options.env, KAFKA_OWNER_PID: String(process.pid) },
    onLine,
    "kafka",
  );
  if (code !== 0 || !(await kafkaAnswers(connection))) {
    throw new SupervisorError(
      "broker_unavailable",
      `scripts/kafka.sh start failed (exit ${code}); see ${options.env.KAFKA_STATE_DIR || ".cache/kafka"}/logs`,
    );
  }
  return {
    started: true,
    local,
    stop: async () => {
      onLine(
        "supervisor",
        "stopping the Kafka broker it started (scripts/kafka.sh stop; its data is kept for the next run)",
      );
      await runScript(["scripts/kafka.sh", "stop"], options.env, onLine, "kafka");
    },
  };
}

export interface InfrastructureHandle {
  /** Names of the services this supervisor started (postgres, redis). */
  readonly started: readonly string[];
  stop(): Promise<void>;
}

/**
 * Checks Postgres and Redis at DATABASE_URL and REDIS_URL with scripts/infra.sh, which starts them when they
 * are installed locally but stopped; whatever it started is stopped again at the end.
 */
export async function ensureInfrastructure(
  env: NodeJS.ProcessEnv,
  onLine: LineSink,
): Promise<InfrastructureHandle> {
  const directory = await mkdtemp(join(tmpdir(), "adpipe-supervisor-"));
  const record = join(directory, "started");
  try {
    const code = await runScript(["scripts/infra.sh", "start", "--record", record], env, onLine, "infra");
    if (code !== 0) {
      throw new SupervisorError(
        "infrastructure_unavailable",
        "Postgres or Redis is not reachable (see the infra lines above; set DATABASE_URL / REDIS_URL or start them)",
      );
    }
    const started = (await readFile(record, "utf8").catch(() => ""))
      .split(/\s+/)
      .filter((name) => name === "postgres" || name === "redis");
    return {
      started,
      stop: async () => {
        if (started.length === 0) return;
        onLine("supervisor", `stopping what it started: ${started.join(", ")} (scripts/infra.sh stop)`);
        await runScript(["scripts/infra.sh", "stop", ...started], env, onLine, "infra");
      },
    };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

function runScript(args: string[], env: NodeJS.ProcessEnv, onLine: LineSink, name: string): Promise<number> {
  return runToCompletion({
    name,
    command: "bash",
    args,
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    onLine,
  });
}
