import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { kafkaConnectionFromEnv } from "@adpipe/config";
import { createKafka, withAdmin } from "@adpipe/kafka";
import { REPO_ROOT } from "../../support/index.js";
import { ownedStateDir, sweepOrphanedDirs } from "../../support/owned-dirs.js";
import { freeBasePort } from "../../support/ports.js";
import { processAlive } from "../../support/processes.js";

const run = promisify(execFile);
const SCRIPT = join(REPO_ROOT, "scripts", "kafka.sh");
const HOME = join(REPO_ROOT, ".cache", "integrity");
const DIR_PREFIX = "kafka-cluster";
const HOST = "127.0.0.1";
const BROKERS = 3;
/** scripts/kafka/cluster.sh: broker i listens on the configured ports + 10 * i. */
const STRIDE = 10;

/**
 * A three-broker KRaft cluster of the suite's own (scripts/kafka.sh with KAFKA_BROKERS_COUNT=3 on random ports
 * below the ephemeral range, its own KAFKA_STATE_DIR): a scenario may SIGKILL a broker and start it again
 * (on its kept data) without touching the shared broker. The directory name carries the owner's pid and the
 * first port, so the next run stops the brokers of a run that was killed before it could.
 */
export class PrivateKafkaCluster {
  private constructor(
    readonly basePort: number,
    readonly stateDir: string,
  ) {}

  static async start(): Promise<PrivateKafkaCluster> {
    await sweepOrphanedDirs(HOME, DIR_PREFIX, (port, dir) =>
      run("bash", [SCRIPT, "stop"], { env: scriptEnv(port, dir), timeout: 120_000 }),
    );
    // A base in 22000-29900 (below Linux' ephemeral ports) whose nine listener ports are all free.
    const basePort = await freeBasePort({
      from: 22_000,
      to: 30_000,
      step: 100,
      portsOf: (base) =>
        Array.from({ length: BROKERS }, (_, i) => [0, 1, 2].map((d) => base + STRIDE * i + d)).flat(),
      what: "a private Kafka cluster",
    });
    const cluster = new PrivateKafkaCluster(basePort, ownedStateDir(HOME, DIR_PREFIX, basePort));
    await cluster.script("start");
    await cluster.waitUntilRegistered();
    return cluster;
  }

  /**
   * Waits until the controller lists every broker. A broker answers on its port a little before it is
   * registered, and a topic created meanwhile gets the replication factor of the brokers registered then (2,
   * not 3: seen in CI), which is not the cluster the scenario means to test.
   */
  private async waitUntilRegistered(): Promise<void> {
    const kafka = createKafka(
      kafkaConnectionFromEnv({
        KAFKA_BROKERS: this.brokers.join(","),
        KAFKA_CLIENT_ID: "integrity-cluster-wait",
      }),
    );
    const deadline = Date.now() + 60_000;
    let registered = 0;
    while (Date.now() < deadline) {
      registered = await withAdmin(
        kafka,
        async (admin) => (await admin.describeCluster()).brokers.length,
      ).catch(() => 0);
      if (registered === BROKERS) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`only ${registered} of ${BROKERS} brokers registered with the controller after 60 s`);
  }

  private script(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run("bash", [SCRIPT, ...args], { env: scriptEnv(this.basePort, this.stateDir), timeout: 300_000 });
  }

  /** PLAINTEXT bootstrap list, broker 0 first. */
  get brokers(): string[] {
    return Array.from({ length: BROKERS }, (_, i) => `${HOST}:${this.basePort + STRIDE * i}`);
  }

  /** The KRaft node id of broker index i (cluster.sh: i + 1). */
  static nodeId(index: number): number {
    return index + 1;
  }

  /** The pid of broker `index` (0-based). */
  async pid(index: number): Promise<number> {
    const { stdout } = await this.script("pid", String(index));
    const pid = Number(stdout.trim());
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid for broker ${index}: ${stdout}`);
    return pid;
  }

  /** SIGKILLs the broker with this pid (see pid()) and waits until it is gone: a crash, its data stays. */
  async kill(pid: number): Promise<void> {
    process.kill(pid, "SIGKILL");
    for (let i = 0; i < 100; i++) {
      if (!processAlive(pid)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`broker pid ${pid} still runs 10 s after SIGKILL`);
  }

  /** Starts the brokers that are not running, on their kept data, and waits until every one answers. */
  async startMissing(): Promise<void> {
    await this.script("start");
  }

  /** Stops every broker and deletes the state directory. */
  async stop(): Promise<void> {
    await this.script("stop").catch(() => undefined);
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

function scriptEnv(basePort: number, stateDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KAFKA_BROKERS_COUNT: String(BROKERS),
    KAFKA_STATE_DIR: stateDir,
    KAFKA_PLAINTEXT_PORT: String(basePort),
    KAFKA_SASL_PORT: String(basePort + 1),
    KAFKA_CONTROLLER_PORT: String(basePort + 2),
    KAFKA_START_TIMEOUT_SECONDS: "240",
  };
}
