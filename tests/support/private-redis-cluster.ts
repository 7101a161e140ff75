import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { Cluster } from "ioredis";
import { ownedStateDir, sweepOrphanedDirs } from "./owned-dirs.js";
import { REPO_ROOT } from "./paths.js";
import { freeBasePort } from "./ports.js";

const run = promisify(execFile);
const SCRIPT = join(REPO_ROOT, "scripts", "redis-cluster.sh");
const HOME = join(REPO_ROOT, ".cache", "private-redis-clusters");
const DIR_PREFIX = "redis-cluster";
const HOST = "127.0.0.1";
const NODES = 6;
/** Private clusters live on PORT..PORT+5 (cluster bus +10000) in this range, away from the shared 7000-7005. */
const PORT_RANGE = { from: 30_000, to: 38_990 } as const;

export interface ClusterNode {
  readonly id: string;
  readonly port: number;
  readonly role: "master" | "replica";
  /** For a replica: the id of its master. */
  readonly masterId: string | null;
  readonly failed: boolean;
  /** Slot ranges [from, to] a master serves. */
  readonly slots: readonly (readonly [number, number])[];
}

/**
 * A Redis Cluster of a test's own (scripts/redis-cluster.sh on a random REDIS_CLUSTER_PORT with its own
 * state directory): 3 masters + 3 replicas that a scenario may SIGKILL and reshard without touching the shared
 * cluster on 7000-7005. The directory name carries the owner's pid and the first port, so the next run stops
 * the nodes of a run that was killed before it could.
 */
export class PrivateRedisCluster {
  private constructor(
    readonly basePort: number,
    readonly stateDir: string,
  ) {}

  static async start(): Promise<PrivateRedisCluster> {
    await sweepOrphanedDirs(HOME, DIR_PREFIX, (port, dir) =>
      run("bash", [SCRIPT, "stop"], {
        env: { ...process.env, REDIS_CLUSTER_PORT: String(port), REDIS_CLUSTER_STATE_DIR: dir },
        timeout: 60_000,
      }),
    );
    const basePort = await freeBasePort({
      ...PORT_RANGE,
      step: 10,
      // Six node ports and their cluster-bus ports (+10000).
      portsOf: (base) => Array.from({ length: NODES }, (_, i) => base + i).flatMap((p) => [p, p + 10_000]),
      what: "a private Redis Cluster",
    });
    const cluster = new PrivateRedisCluster(basePort, ownedStateDir(HOME, DIR_PREFIX, basePort));
    await cluster.script("start");
    return cluster;
  }

  private script(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run("bash", [SCRIPT, ...args], {
      env: {
        ...process.env,
        REDIS_CLUSTER_PORT: String(this.basePort),
        REDIS_CLUSTER_STATE_DIR: this.stateDir,
        REDIS_CLUSTER_TIMEOUT_SECONDS: "90",
      },
      timeout: 120_000,
    });
  }

  get ports(): number[] {
    return Array.from({ length: NODES }, (_, i) => this.basePort + i);
  }

  /** The REDIS_CLUSTER_NODES value (every node a seed). */
  get nodes(): string {
    return this.ports.map((port) => `${HOST}:${port}`).join(",");
  }

  /** REDIS_URL form of the same (what the services are given). */
  get url(): string {
    return `redis+cluster://${this.nodes}`;
  }

  /** A client of the suite (reads from masters only, like the services). */
  client(options: { maxRetriesPerRequest?: number } = {}): Cluster {
    const cluster = new Cluster(
      this.ports.map((port) => ({ host: HOST, port })),
      {
        scaleReads: "master",
        redisOptions: { maxRetriesPerRequest: options.maxRetriesPerRequest ?? 3, connectTimeout: 2_000 },
      },
    );
    cluster.on("error", () => undefined);
    return cluster;
  }

  /** CLUSTER NODES as seen by the first node that answers. */
  async topology(): Promise<ClusterNode[]> {
    let lastError: unknown = null;
    for (const port of this.ports) {
      try {
        const { stdout } = await run("redis-cli", ["-h", HOST, "-p", String(port), "cluster", "nodes"], {
          timeout: 5_000,
        });
        if (!stdout.trim() || stdout.includes("Could not connect")) continue;
        return parseClusterNodes(stdout);
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`no node of the private cluster answers: ${String(lastError)}`);
  }

  async masters(): Promise<ClusterNode[]> {
    return (await this.topology()).filter((node) => node.role === "master" && !node.failed);
  }

  /** SIGKILLs the node on `port` (its pid from the script); its data is gone (no persistence). */
  async kill(port: number): Promise<void> {
    const { stdout } = await this.script("pid", String(port));
    const pid = Number(stdout.trim());
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid for node ${port}: ${stdout}`);
    process.kill(pid, "SIGKILL");
  }

  /** Starts the nodes that are not running; a killed node rejoins (kept nodes.conf) as a replica, empty. */
  async startMissing(): Promise<void> {
    await this.script("start");
  }

  /** True when every node answers and reports cluster_state:ok with six known nodes. */
  async healthy(): Promise<boolean> {
    return this.script("status").then(
      () => true,
      () => false,
    );
  }

  /**
   * `redis-cli --cluster reshard`: moves the first `slots` slots of the master `fromId` to `toId`, keys
   * included (MIGRATE), while clients keep working (ASK/MOVED redirections).
   */
  async reshard(fromId: string, toId: string, slots: number): Promise<string> {
    // redis-cli refuses to reshard while the nodes disagree about the configuration (right after a start, a
    // failover or a node rejoining): wait until `--cluster check` passes.
    await this.waitConsistent();
    try {
      const { stdout } = await run(
        "redis-cli",
        [
          "--cluster",
          "reshard",
          `${HOST}:${this.basePort}`,
          "--cluster-from",
          fromId,
          "--cluster-to",
          toId,
          "--cluster-slots",
          String(slots),
          "--cluster-yes",
          "--cluster-pipeline",
          "100",
        ],
        { timeout: 600_000, maxBuffer: 64 * 1024 * 1024 },
      );
      return stdout;
    } catch (error) {
      const output = error as { stdout?: string; stderr?: string };
      throw new Error(
        `redis-cli --cluster reshard failed: ${(output.stdout ?? "").slice(-1_500)} ${(output.stderr ?? "").slice(-500)}`,
      );
    }
  }

  /** Waits until `redis-cli --cluster check` reports every slot covered and every node agreeing. */
  async waitConsistent(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    for (;;) {
      try {
        await run("redis-cli", ["--cluster", "check", `${HOST}:${this.basePort}`], { timeout: 30_000 });
        return;
      } catch (error) {
        last = String((error as { stdout?: string }).stdout ?? error).slice(-1_000);
      }
      if (Date.now() > deadline) throw new Error(`the private cluster is not consistent: ${last}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Stops every node and deletes the state directory. */
  async stop(): Promise<void> {
    await this.script("stop").catch(() => undefined);
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

export function parseClusterNodes(text: string): ClusterNode[] {
  const nodes: ClusterNode[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue;
    const [id, address, flags, master] = fields as [string, string, string, string];
    const port = Number(address.split("@")[0]?.split(":")[1]);
    const flagList = flags.split(",");
    const slots: [number, number][] = [];
    for (const range of fields.slice(8)) {
      if (range.startsWith("[")) continue; // a slot being migrated/imported
      const [from, to] = range.split("-").map(Number);
      if (from !== undefined && Number.isInteger(from)) slots.push([from, to ?? from]);
    }
    nodes.push({
      id,
      port,
      role: flagList.includes("master") ? "master" : "replica",
      masterId: master === "-" ? null : master,
      failed: flagList.includes("fail") || flagList.includes("fail?") || flagList.includes("noaddr"),
      slots,
    });
  }
  return nodes;
}
