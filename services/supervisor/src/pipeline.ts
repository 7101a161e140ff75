import { randomBytes } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  DEFAULT_DATABASE_URL,
  DEFAULT_REDIS_URL,
  envVar,
  type KafkaConnection,
  kafkaConnectionFromEnv,
  redactUrl,
} from "@adpipe/config";
import { createKafka, ensureTopic, withAdmin } from "@adpipe/kafka";
import { createPool, migrate } from "@adpipe/warehouse";
import { logLevel } from "kafkajs";
import { type ChildExit, ManagedChild } from "./child.js";
import { SupervisorError } from "./errors.js";
import {
  type BrokerHandle,
  ensureBroker,
  ensureInfrastructure,
  type InfrastructureHandle,
  type LineSink,
  localBrokerAddress,
} from "./infrastructure.js";
import {
  missingEntries,
  REPO_ROOT,
  RUNNING_FROM_SOURCE,
  type RunMode,
  type ServiceName,
  serviceEntry,
} from "./paths.js";
import { describePositions, forgetPositionsOfEarlierTopic } from "./positions.js";

export interface SupervisorOptions {
  /** Run time; undefined = until a signal. */
  readonly durationMs: number | undefined;
  readonly partitions: number;
  /** Topic; undefined = KAFKA_TOPIC, the connection string's EntityPath, or ad-clicks. */
  readonly topic: string | undefined;
  readonly simulator: boolean;
  /** Simulator events per second. */
  readonly rate: number;
  readonly simCount: number | undefined;
  readonly simSeed: number | undefined;
  readonly simRunId: string | undefined;
  readonly simManifest: string | undefined;
  readonly simAdvertisers: number;
  readonly apiPort: number;
  /** The ingestor's ops port; the tracker's is +1, the simulator's +2. */
  readonly opsPortBase: number;
  /** Consumer groups are `<prefix>-ingestor` and `<prefix>-budget-tracker`. */
  readonly groupPrefix: string;
  /** REDIS_KEY_PREFIX of the tracker and the API; undefined = theirs (adspend:). */
  readonly redisPrefix: string | undefined;
  readonly stateFile: string | undefined;
  readonly mode: RunMode | "auto";
  /** Start the local broker when none answers (only for 127.0.0.1:KAFKA_PLAINTEXT_PORT, default 9092). */
  readonly startBroker: boolean;
  /** Reset the local broker's data first (scripts/kafka.sh reset). */
  readonly fresh: boolean;
  readonly readyTimeoutMs: number;
}

export interface SupervisorIo {
  env: NodeJS.ProcessEnv;
  /** Every line the supervisor and its children print, with the process name. */
  onLine: LineSink;
}

export interface RunningChild {
  readonly name: ServiceName;
  readonly pid: number | undefined;
  readonly port: number;
}

/** What is running, for the banner and the state file. */
export interface PipelineState {
  readonly supervisorPid: number;
  readonly dashboardUrl: string;
  readonly topic: string;
  readonly partitions: number;
  readonly kafka: string;
  readonly database: string;
  readonly redis: string;
  readonly groups: { ingestor: string; tracker: string };
  readonly redisPrefix: string | undefined;
  readonly brokerStartedHere: boolean;
  readonly infrastructureStartedHere: readonly string[];
  readonly children: readonly RunningChild[];
  /** Bearer token for writes when API_WRITE_TOKENS was not set (generated for this run). */
  readonly writeToken: string | undefined;
  /** Bearer token for reads when neither API_READ_TOKENS nor API_PUBLIC_READS was set (generated for this run). */
  readonly readToken: string | undefined;
}

/** A service child that exits without being asked to. */
export interface UnexpectedExit {
  readonly name: ServiceName;
  readonly exit: ChildExit;
}

/**
 * The whole pipeline on this machine: broker, Postgres/Redis check, topic, migrations, ingestor,
 * budget-tracker, API and simulator. start() returns once every service is ready; stop() tears down
 * everything it started, in order, and is safe to call more than once.
 */
export class LocalPipeline {
  private readonly children = new Map<ServiceName, ManagedChild>();
  private broker: BrokerHandle | undefined;
  private infrastructure: InfrastructureHandle | undefined;
  private stopping: Promise<void> | undefined;
  private unexpected: ((exit: UnexpectedExit) => void) | undefined;
  /** Resolves when a service (not the simulator finishing its --count) exits on its own. */
  readonly failed: Promise<UnexpectedExit>;
  state: PipelineState | undefined;

  constructor(
    private readonly options: SupervisorOptions,
    private readonly io: SupervisorIo,
  ) {
    this.failed = new Promise((resolve) => {
      this.unexpected = resolve;
    });
  }

  private log(line: string): void {
    this.io.onLine("supervisor", line);
  }

  private get mode(): RunMode {
    if (this.options.mode !== "auto") return this.options.mode;
    return RUNNING_FROM_SOURCE ? "source" : "dist";
  }

  async start(): Promise<PipelineState> {
    const options = this.options;
    const names: ServiceName[] = [
      "ingestor",
      "budget-tracker",
      "api",
      "alerter",
      ...(options.simulator ? (["simulator"] as const) : []),
    ];
    const missing = missingEntries(names, this.mode);
    if (missing.length > 0) {
      throw new SupervisorError(
        "not_built",
        `not built: ${missing.join(", ")}. Run \`npm run build\` first (or start from source with tsx).`,
      );
    }

    const ownBrokerPort =
      !this.io.env.KAFKA_BROKERS &&
      !this.io.env.EVENT_HUB_CONNECTION_STRING &&
      this.io.env.KAFKA_PLAINTEXT_PORT;
    const env: NodeJS.ProcessEnv = {
      ...this.io.env,
      DATABASE_URL: this.io.env.DATABASE_URL || DEFAULT_DATABASE_URL,
      REDIS_URL: this.io.env.REDIS_URL || DEFAULT_REDIS_URL,
      // The local broker on other ports (KAFKA_PLAINTEXT_PORT, as for scripts/kafka.sh): the services go there.
      ...(ownBrokerPort ? { KAFKA_BROKERS: localBrokerAddress(this.io.env) } : {}),
      ...(options.topic === undefined ? {} : { KAFKA_TOPIC: options.topic }),
    };
    const connection: KafkaConnection = kafkaConnectionFromEnv(env, { clientId: "adpipe-supervisor" });
    const topic = connection.topic;

    this.log(
      `Kafka: ${connection.flavor === "event-hubs" ? "Azure Event Hubs" : "Kafka"} at ${connection.brokers.join(",")}, topic ${topic}`,
    );
    this.broker = await ensureBroker(connection, this.io.onLine, {
      allowStart: options.startBroker,
      fresh: options.fresh,
      env,
    });
    this.infrastructure = await ensureInfrastructure(env, this.io.onLine);

    const groups = {
      ingestor: `${options.groupPrefix}-ingestor`,
      tracker: `${options.groupPrefix}-budget-tracker`,
    };
    const pool = createPool({
      connectionString: env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
      max: 1,
      applicationName: "adpipe-supervisor",
    });
    let topicResult: { created: boolean; partitions: number };
    try {
      const result = await migrate(pool);
      this.log(
        result.applied.length > 0
          ? `applied migrations ${result.applied.join(", ")} (schema version ${result.current})`
          : `database schema is current (version ${result.current})`,
      );

      const kafka = createKafka(connection, { logLevel: logLevel.WARN });
      topicResult = await ensureTopic(kafka, { topic, partitions: options.partitions });
      if (!topicResult.created) {
        const records = await recordsInTopic(kafka, topic);
        this.log(
          `topic ${topic} exists with ${topicResult.partitions} partitions (${records} records kept from earlier runs; the services resume from their stored positions)`,
        );
      } else if (this.broker.local) {
        this.log(`created topic ${topic} with ${topicResult.partitions} partitions on the local broker`);
        const forgotten = await forgetPositionsOfEarlierTopic({
          pool,
          redisUrl: env.REDIS_URL ?? DEFAULT_REDIS_URL,
          redisPrefix: options.redisPrefix ?? env.REDIS_KEY_PREFIX,
          pipeline: groups.ingestor,
          topic,
        });
        if (forgotten.warehouse.length > 0 || forgotten.tracker.length > 0) {
          this.log(
            `the new topic starts at offset 0: forgot the positions an earlier run stored for a topic of that name (ingestor: ${describePositions(forgotten.warehouse)}; tracker: ${describePositions(forgotten.tracker)})${forgotten.generation === null ? "" : `; the warehouse reads the new log as topic generation ${forgotten.generation} (reset #${forgotten.resetId} in ingest.offset_resets)`}. Bronze/Silver/Gold and the spend in Redis stay; the tracker rebuilds from the warehouse`,
          );
        }
      } else {
        this.log(`created topic ${topic} with ${topicResult.partitions} partitions`);
      }
    } finally {
      await pool.end();
    }

    const writeToken = env.API_WRITE_TOKENS ? undefined : `local-${randomBytes(12).toString("hex")}`;
    // Reads need a token too (the API's default); the dashboard URL printed below carries it.
    const readToken =
      env.API_READ_TOKENS?.trim() || envVar.boolean().safeParse(env.API_PUBLIC_READS).data === true
        ? undefined
        : `local-read-${randomBytes(12).toString("hex")}`;
    const shared: NodeJS.ProcessEnv = {
      ...env,
      KAFKA_TOPIC: topic,
      ...(options.redisPrefix === undefined ? {} : { REDIS_KEY_PREFIX: options.redisPrefix }),
    };
    const ports = {
      ingestor: options.opsPortBase,
      "budget-tracker": options.opsPortBase + 1,
      api: options.apiPort,
      simulator: options.opsPortBase + 2,
      alerter: options.opsPortBase + 3,
    };
    const childEnv: Record<ServiceName, NodeJS.ProcessEnv> = {
      ingestor: {
        ...shared,
        OPS_PORT: String(ports.ingestor),
        INGESTOR_GROUP_ID: groups.ingestor,
        MIGRATE_ON_START: "false",
      },
      "budget-tracker": {
        ...shared,
        OPS_PORT: String(ports["budget-tracker"]),
        TRACKER_GROUP_ID: groups.tracker,
        WAREHOUSE_PIPELINE: groups.ingestor,
      },
      api: {
        ...shared,
        API_PORT: String(ports.api),
        API_HOST: shared.API_HOST ?? "127.0.0.1",
        API_LAG_GROUPS: `${groups.ingestor},${groups.tracker}`,
        ...(writeToken === undefined ? {} : { API_WRITE_TOKENS: `local:${writeToken}` }),
        ...(readToken === undefined ? {} : { API_READ_TOKENS: `dashboard:${readToken}` }),
      },
      // Budget alerts from the warehouse to the ad-budget-alerts topic (docs/alerts.md); migrations ran above.
      // ahead_of_pace alerts read the tracker's Redis (the same REDIS_URL / prefix): on unless the caller says.
      alerter: {
        ALERT_PACING_REDIS: "true",
        ...shared,
        OPS_PORT: String(ports.alerter),
        MIGRATE_ON_START: "false",
      },
      simulator: { ...shared, OPS_PORT: String(ports.simulator) },
    };

    for (const name of ["ingestor", "budget-tracker", "api", "alerter"] as const)
      this.spawn(name, childEnv[name], []);
    await Promise.all([
      this.waitReady("ingestor", `http://127.0.0.1:${ports.ingestor}/readyz`),
      this.waitReady("budget-tracker", `http://127.0.0.1:${ports["budget-tracker"]}/readyz`),
      this.waitReady("api", `http://127.0.0.1:${ports.api}/readyz`),
      this.waitReady("alerter", `http://127.0.0.1:${ports.alerter}/readyz`),
    ]);

    if (options.simulator) {
      this.spawn("simulator", childEnv.simulator, this.simulatorArgs());
      await this.waitReady("simulator", `http://127.0.0.1:${ports.simulator}/healthz`);
    }

    this.state = {
      supervisorPid: process.pid,
      dashboardUrl: `http://127.0.0.1:${ports.api}/`,
      topic,
      partitions: topicResult.partitions,
      kafka: connection.brokers.join(","),
      database: redactUrl(env.DATABASE_URL ?? DEFAULT_DATABASE_URL),
      redis: redactUrl(env.REDIS_URL ?? DEFAULT_REDIS_URL),
      groups,
      redisPrefix: options.redisPrefix,
      brokerStartedHere: this.broker.started,
      infrastructureStartedHere: this.infrastructure.started,
      children: [...this.children.values()].map((child) => ({
        name: child.name as ServiceName,
        pid: child.pid,
        port: ports[child.name as ServiceName],
      })),
      writeToken,
      readToken,
    };
    if (options.stateFile !== undefined) await writeState(options.stateFile, this.state);
    return this.state;
  }

  private simulatorArgs(): string[] {
    const o = this.options;
    return [
      "--rate",
      String(o.rate),
      "--advertisers",
      String(o.simAdvertisers),
      "--progress",
      "lines",
      ...(o.simCount === undefined ? [] : ["--count", String(o.simCount)]),
      ...(o.simSeed === undefined ? [] : ["--seed", String(o.simSeed)]),
      ...(o.simRunId === undefined ? [] : ["--run-id", o.simRunId]),
      ...(o.simManifest === undefined ? [] : ["--manifest", o.simManifest]),
    ];
  }

  private spawn(name: ServiceName, env: NodeJS.ProcessEnv, args: string[]): ManagedChild {
    const child = new ManagedChild({
      name,
      command: process.execPath,
      args: [...serviceEntry(name, this.mode), ...args],
      env,
      cwd: REPO_ROOT,
      onLine: this.io.onLine,
    });
    this.children.set(name, child);
    this.log(`started ${name} (pid ${child.pid})`);
    void child.exited.then((exit) => {
      if (child.isStopping) return;
      // The simulator ends by itself after --count: the pipeline keeps running.
      if (name === "simulator" && exit.code === 0) {
        this.log("the simulator finished its events; the pipeline keeps running (Ctrl-C to stop)");
        return;
      }
      this.log(`${name} exited unexpectedly (${exit.signal ?? `code ${exit.code}`})`);
      this.unexpected?.({ name, exit });
    });
    return child;
  }

  private async waitReady(name: ServiceName, url: string): Promise<void> {
    const deadline = Date.now() + this.options.readyTimeoutMs;
    const child = this.children.get(name);
    let last = "no answer";
    while (Date.now() < deadline) {
      if (child !== undefined && !child.running) {
        throw new SupervisorError("service_failed", `${name} exited during start-up (see its lines above)`);
      }
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        if (response.ok) {
          this.log(`${name} is ready (${url})`);
          return;
        }
        last = `HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`;
      } catch (error) {
        last = error instanceof Error ? error.message : String(error);
      }
      await sleep(250);
    }
    throw new SupervisorError(
      "not_ready",
      `${name} was not ready within ${this.options.readyTimeoutMs / 1_000} s (${url}: ${last})`,
    );
  }

  /** Stops everything started, producers first, then consumers, then infrastructure and broker. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    const stopChild = async (name: ServiceName, signal: NodeJS.Signals) => {
      const child = this.children.get(name);
      if (child === undefined || !child.running) {
        child?.killNow();
        return;
      }
      this.log(`stopping ${name} (pid ${child.pid})`);
      const exit = await child.stop(signal, 20_000);
      this.log(`${name} stopped (${exit.signal ?? `exit ${exit.code}`})`);
    };
    // The simulator prints its summary on SIGINT; the API stops taking writes before the consumers go.
    await stopChild("simulator", "SIGINT");
    await stopChild("api", "SIGTERM");
    await Promise.all([
      stopChild("ingestor", "SIGTERM"),
      stopChild("budget-tracker", "SIGTERM"),
      stopChild("alerter", "SIGTERM"),
    ]);
    await this.infrastructure?.stop();
    await this.broker?.stop();
  }

  /** For process 'exit': kills whatever still runs, without waiting. */
  killNow(): void {
    for (const child of this.children.values()) child.killNow();
  }

  /** Every pid the supervisor started (children only; the broker is tracked by scripts/kafka.sh). */
  get pids(): number[] {
    return [...this.children.values()]
      .map((child) => child.pid)
      .filter((pid): pid is number => pid !== undefined);
  }
}

/** Records in the topic's log (high minus low watermark, summed over partitions). */
async function recordsInTopic(kafka: ReturnType<typeof createKafka>, topic: string): Promise<string> {
  const offsets = await withAdmin(kafka, (admin) => admin.fetchTopicOffsets(topic));
  const total = offsets.reduce((sum, o) => sum + BigInt(o.high) - BigInt(o.low), 0n);
  return new Intl.NumberFormat("en-US").format(total);
}

async function writeState(path: string, state: PipelineState): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, path);
}

/**
 * The dashboard URL with the run's read token in the fragment: the page moves it to sessionStorage and out of
 * the address bar; a fragment never reaches a server or a Referer.
 */
export function dashboardLoginUrl(state: Pick<PipelineState, "dashboardUrl" | "readToken">): string {
  return state.readToken === undefined
    ? state.dashboardUrl
    : `${state.dashboardUrl}#token=${encodeURIComponent(state.readToken)}`;
}

/** The banner printed once everything runs. */
export function describeState(state: PipelineState, options: SupervisorOptions): string {
  const lines = [
    "",
    "  Ad marketing pipeline is running",
    "",
    `  Dashboard      ${dashboardLoginUrl(state)}${state.readToken === undefined ? "" : "   (logs this browser in)"}`,
    `  Serving        ${state.dashboardUrl}v1/advertisers/<id>/serving`,
    `  OpenAPI        ${state.dashboardUrl}openapi.json`,
    "",
    `  Kafka          ${state.kafka}${state.brokerStartedHere ? " (local broker, started here)" : ""}, topic ${state.topic} (${state.partitions} partitions)`,
    `  Postgres       ${state.database}`,
    `  Redis          ${state.redis}${state.redisPrefix === undefined ? "" : ` (keys under ${state.redisPrefix})`}`,
    "",
    ...state.children.map(
      (child) =>
        `  ${child.name.padEnd(15)}pid ${String(child.pid).padEnd(8)}${child.name === "api" ? "http" : "ops "} http://127.0.0.1:${child.port}/`,
    ),
    "",
    options.simulator
      ? `  The simulator sends ${options.rate} events/s${options.simCount === undefined ? "" : ` (${options.simCount} in all)`}; watch Gold and can_serve change on the dashboard.`
      : "  No simulator (--no-simulator): produce clicks with `adpipe simulate` or POST /v1/clicks.",
    ...(state.readToken === undefined
      ? []
      : [`  Read token     ${state.readToken}   (for GET /v1/...; this run only)`]),
    ...(state.writeToken === undefined
      ? []
      : [
          `  Write token    ${state.writeToken}   (for PUT /v1/advertisers/<id>/budget and POST /v1/clicks; this run only)`,
        ]),
    "",
    options.durationMs === undefined
      ? "  Ctrl-C stops everything."
      : `  Stops by itself after ${options.durationMs / 1_000} s (or Ctrl-C).`,
    "",
  ];
  return lines.join("\n");
}
