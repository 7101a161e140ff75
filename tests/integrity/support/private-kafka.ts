import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { Kafka, logLevel } from "kafkajs";
import { REPO_ROOT } from "../../support/index.js";
import { freePort } from "../../support/ports.js";
import { processAlive } from "../../support/processes.js";
import { eventually } from "./wait.js";

const run = promisify(execFile);
/** The broker jars scripts/kafka.sh resolved (the shared broker runs from them too). */
const LIBS = join(REPO_ROOT, ".cache", "kafka", "libs");
const HOME = join(REPO_ROOT, ".cache", "integrity");
/** On the JVM's command line: recognises a broker of this suite left behind by a killed run. */
const MARKER = "-Dadpipe.integrity.broker=";

/**
 * A single-node KRaft broker of the suite's own (PLAINTEXT only, free ports, its own data directory), so it
 * can be stopped and started again — keeping its data, unlike `scripts/kafka.sh start`, which formats fresh
 * storage every time — without touching the shared broker other test files use.
 */
export class PrivateKafka {
  private process: ChildProcess | null = null;

  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly controllerPort: number,
  ) {}

  get brokers(): string[] {
    return [`127.0.0.1:${this.port}`];
  }

  static async create(): Promise<PrivateKafka> {
    // A checkout that reuses another checkout's shared broker has not resolved the jars itself.
    if (!existsSync(LIBS))
      await run("bash", [join(REPO_ROOT, "scripts", "kafka.sh"), "jars"], { timeout: 600_000 });
    if (!existsSync(LIBS)) throw new Error(`no Kafka jars in ${LIBS} after scripts/kafka.sh jars`);
    sweepLeftoverBrokers();
    const dir = join(
      HOME,
      `kafka-${process.pid}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`,
    );
    const kafka = new PrivateKafka(dir, await freePort(), await freePort());
    kafka.writeConfig();
    await run(
      "java",
      [
        ...kafka.jvmCommon(),
        "-Xmx256m",
        "kafka.tools.StorageTool",
        "format",
        "-t",
        clusterId(),
        "-c",
        kafka.config,
      ],
      { timeout: 120_000 },
    );
    await kafka.start();
    return kafka;
  }

  private get config(): string {
    return join(this.dir, "server.properties");
  }

  private jvmCommon(): string[] {
    return [
      "-cp",
      `${LIBS}/*`,
      `-Dkafka.logs.dir=${join(this.dir, "logs")}`,
      `-Dlog4j.configuration=file:${join(this.dir, "log4j.properties")}`,
    ];
  }

  private writeConfig(): void {
    mkdirSync(join(this.dir, "logs"), { recursive: true });
    const host = "127.0.0.1";
    writeFileSync(
      this.config,
      [
        "process.roles=broker,controller",
        "node.id=1",
        `controller.quorum.voters=1@${host}:${this.controllerPort}`,
        `listeners=PLAINTEXT://${host}:${this.port},CONTROLLER://${host}:${this.controllerPort}`,
        `advertised.listeners=PLAINTEXT://${host}:${this.port}`,
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        `log.dirs=${join(this.dir, "data")}`,
        "auto.create.topics.enable=false",
        "num.partitions=1",
        "default.replication.factor=1",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=4",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "min.insync.replicas=1",
        "group.initial.rebalance.delay.ms=0",
        "message.max.bytes=1049600",
        // Never delete by time: retention is judged on record timestamps, and generated streams may be old.
        "log.retention.ms=-1",
        "num.network.threads=2",
        "num.io.threads=2",
        "background.threads=2",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(this.dir, "log4j.properties"),
      [
        "log4j.rootLogger=INFO, file",
        "log4j.appender.file=org.apache.log4j.FileAppender",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4j property reference, not a template
        "log4j.appender.file.File=${kafka.logs.dir}/server.log",
        "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
        "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
        "log4j.logger.kafka.request.logger=WARN",
        "log4j.logger.org.apache.kafka.clients=WARN",
        "",
      ].join("\n"),
    );
  }

  /** Starts the broker on its existing data and waits until it answers. */
  async start(): Promise<void> {
    const child = spawn(
      "java",
      [
        `${MARKER}${this.dir}`,
        "-Xms128m",
        "-Xmx384m",
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        ...this.jvmCommon(),
        "kafka.Kafka",
        this.config,
      ],
      { stdio: "ignore" },
    );
    this.process = child;
    writeFileSync(join(this.dir, "broker.pid"), String(child.pid));
    const probe = new Kafka({
      clientId: "integrity-probe",
      brokers: this.brokers,
      connectionTimeout: 2_000,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    });
    await eventually(
      `private broker on ${this.port} answers`,
      async () => {
        if (child.exitCode !== null)
          throw new Error(`broker exited (${child.exitCode}); log in ${this.dir}/logs`);
        const admin = probe.admin();
        try {
          await admin.connect();
          await admin.describeCluster();
          return true;
        } finally {
          await admin.disconnect().catch(() => undefined);
        }
      },
      180_000,
      500,
    );
  }

  /** SIGTERM: a controlled shutdown (waits for it); SIGKILL: a crash. */
  async stop(signal: "SIGTERM" | "SIGKILL"): Promise<void> {
    const child = this.process;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    await exited;
    clearTimeout(timer);
    this.process = null;
  }

  /** Stops the broker and deletes its data. */
  async destroy(): Promise<void> {
    await this.stop("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function clusterId(): string {
  return randomBytes(16).toString("base64url").slice(0, 22);
}

/** Brokers of earlier runs that were killed before they could clean up: their JVM carries MARKER + dir. */
function sweepLeftoverBrokers(): void {
  if (!existsSync(HOME)) return;
  for (const name of readdirSync(HOME)) {
    if (!name.startsWith("kafka-")) continue;
    const dir = join(HOME, name);
    const owner = Number(name.split("-")[1]);
    if (Number.isInteger(owner) && processAlive(owner)) continue;
    const pid = Number(readFileOr(join(dir, "broker.pid"), ""));
    if (
      Number.isInteger(pid) &&
      pid > 0 &&
      readFileOr(`/proc/${pid}/cmdline`, "").includes(`${MARKER}${dir}`)
    ) {
      process.kill(pid, "SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

function readFileOr(file: string, fallback: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return fallback;
  }
}
